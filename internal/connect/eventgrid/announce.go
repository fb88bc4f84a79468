package eventgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/blobstore"
)

// The embedded storage has no Event Grid, so odx plays it: a watcher scans
// an embedded account's folder and announces every new or rewritten file
// as a BlobCreated notification (Event Grid schema) on the event hub of the
// connections reading that account. Connections sharing an account and an
// event hub share one watcher. What was announced is kept in
// <account>/.odx-announced/<namespace>.<hub>.json, so a restart announces
// only what changed meanwhile; a file announced twice (a crash between
// announcing and saving) is still ingested once.

type watcher struct {
	refs   int
	cancel context.CancelFunc
	done   chan struct{}
}

// watch starts (or joins) the watcher of the connection's account and hub;
// stop leaves it, and the last one to leave stops it.
func (c *Connector) watch(cfg config, base []kgo.Opt, log *slog.Logger) (stop func(), err error) {
	key := strings.Join([]string{cfg.account, strings.ToLower(cfg.namespace), strings.ToLower(cfg.hub)}, "|")
	stop = func() {
		c.mu.Lock()
		w := c.watchers[key]
		w.refs--
		last := w.refs == 0
		if last {
			delete(c.watchers, key)
		}
		c.mu.Unlock()
		if last {
			w.cancel()
			<-w.done
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watchers[key]; w != nil {
		w.refs++
		return stop, nil
	}
	dir, err := c.o.Blobs.EnsureAccountFolder(cfg.account)
	if err != nil {
		return nil, fmt.Errorf("embedded storage account %s: %w", cfg.account, err)
	}
	cl, err := kgo.NewClient(append(slices.Clone(base), kgo.DefaultProduceTopic(cfg.hub),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))...)
	if err != nil {
		return nil, fmt.Errorf("announcing files of embedded storage account %s: %w", cfg.account, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{refs: 1, cancel: cancel, done: make(chan struct{})}
	c.watchers[key] = w
	a := &announcer{store: c.o.Blobs, client: cl, cfg: cfg, log: log,
		state: filepath.Join(dir, ".odx-announced", cfg.namespace+"."+cfg.hub+".json")}
	log.Info("embedded storage: files dropped here are ingested", "folder", filepath.Join(dir, "<container>"), "eventHub", cfg.namespace+"/"+cfg.hub)
	go func() {
		defer close(w.done)
		defer cl.Close()
		a.loop(ctx, c.o.ScanInterval)
	}()
	return stop, nil
}

type announcer struct {
	store  *blobstore.Store
	client *kgo.Client
	cfg    config
	log    *slog.Logger
	state  string
}

func (a *announcer) loop(ctx context.Context, every time.Duration) {
	announced := a.load()
	seen := map[string]string{} // the previous scan: name → etag
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		files, err := a.store.ListLocal(a.cfg.account)
		if err != nil {
			a.log.Warn("embedded storage: cannot list the account folder", "account", a.cfg.account, "error", err)
		}
		now := map[string]string{}
		var fresh []blobstore.LocalFile
		for _, f := range files {
			k := f.Container + "/" + f.Path
			now[k] = f.ETag
			// Announce a file once it has stayed the same for a whole
			// interval: a file still being written changes between scans.
			if f.Size > 0 && announced[k] != f.ETag && seen[k] == f.ETag {
				fresh = append(fresh, f)
			}
		}
		seen = now
		if len(fresh) > 0 && err == nil {
			if err := a.announce(ctx, fresh); err != nil {
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("embedded storage: cannot announce new files; retrying", "account", a.cfg.account, "error", err)
			} else {
				for _, f := range fresh {
					announced[f.Container+"/"+f.Path] = f.ETag
				}
				for k := range announced {
					if _, ok := now[k]; !ok {
						delete(announced, k) // deleted files: a new file of that name is new
					}
				}
				a.save(announced)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announce produces one Event Grid notification per file.
func (a *announcer) announce(ctx context.Context, files []blobstore.LocalFile) error {
	recs := make([]*kgo.Record, 0, len(files))
	for _, f := range files {
		body, err := json.Marshal([]map[string]any{{
			"topic":           a.cfg.accountID,
			"subject":         "/blobServices/default/containers/" + f.Container + "/blobs/" + f.Path,
			"eventType":       BlobCreated,
			"eventTime":       time.Now().UTC().Format(time.RFC3339Nano),
			"id":              uuid.NewString(),
			"dataVersion":     "",
			"metadataVersion": "1",
			"data": map[string]any{
				"api": "PutBlob", "eTag": f.ETag, "contentType": "application/octet-stream",
				"contentLength": f.Size, "blobType": "BlockBlob", "url": f.URL(a.cfg.account),
				"sequencer": fmt.Sprintf("%032x", f.Modified.UnixNano()),
			},
		}})
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Key: []byte(f.Container + "/" + f.Path), Value: body,
			Headers: []kgo.RecordHeader{{Key: "aeg-event-type", Value: []byte("Notification")}}})
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.client.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		return err
	}
	a.log.Info("embedded storage: files announced", "account", a.cfg.account, "files", len(files))
	return nil
}

func (a *announcer) load() map[string]string {
	m := map[string]string{}
	raw, err := os.ReadFile(a.state)
	if err == nil {
		if err := json.Unmarshal(raw, &m); err != nil {
			a.log.Warn("embedded storage: the list of announced files is unreadable; announcing every file again (each is still ingested once)", "file", a.state, "error", err)
			m = map[string]string{}
		}
	}
	return m
}

func (a *announcer) save(m map[string]string) {
	raw, _ := json.Marshal(m)
	if err := os.MkdirAll(filepath.Dir(a.state), 0o755); err == nil {
		tmp := a.state + ".tmp"
		if err = os.WriteFile(tmp, raw, 0o644); err == nil {
			err = os.Rename(tmp, a.state)
		}
		if err == nil {
			return
		}
	}
	a.log.Warn("embedded storage: cannot save the list of announced files; they may be announced again after a restart", "file", a.state)
}
