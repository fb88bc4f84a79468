// Package app is odx's composition root: it builds every component from the
// configuration, owns their start and stop order, and mounts the HTTP surface.
// Nothing imports app; it imports whatever it wires.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"odx/internal/arm"
	"odx/internal/auth"
	"odx/internal/buildinfo"
	"odx/internal/config"
	"odx/internal/engine"
	"odx/internal/ingest/pipeline"
	"odx/internal/mgmt"
	"odx/internal/pki"
	"odx/internal/query"
	"odx/internal/storage"
)

// DatabaseFile is the one DuckDB file under the data directory (DESIGN.md, Storage).
const DatabaseFile = "odx.duckdb"

// App is a running odx.
type App struct {
	cfg       config.Serve
	log       *slog.Logger
	tls       *pki.Bundle
	creds     *auth.Credentials
	authority *auth.Authority
	store     *storage.Store
	query     *query.Service
	mgmt      *mgmt.Service
	ingest    *pipeline.Service
	dc        *dataConnections
	arm       *arm.Handler
	metrics   *metrics
	server    *http.Server
	listener  net.Listener
	baseURL   string
}

// New prepares the data directory and builds every component. It binds the
// listener, so the address is taken (and a clash reported) before Run.
func New(ctx context.Context, cfg config.Serve, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data directory: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a.cfg.DataDir = dataDir

	a.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w (another odx running? pick another --listen)", cfg.Listen, err)
	}
	a.baseURL = baseURL(cfg.File.PublicURL, a.listener.Addr().String())

	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	a.tls, err = pki.Ensure(dataDir, cfg.File.TLSHosts)
	if err != nil {
		return nil, err
	}
	a.creds, err = auth.Bootstrap(dataDir, auth.EndpointsFor(a.baseURL), a.tls.CAFile)
	if err != nil {
		return nil, err
	}
	a.metrics = newMetrics()
	a.authority, err = auth.New(dataDir, auth.Options{
		PublicURL:     cfg.File.PublicURL,
		DataAudiences: []string{a.creds.DataEndpoint},
		Logger:        log,
	})
	if err != nil {
		return nil, err
	}

	start := time.Now()
	a.store, err = storage.Open(ctx, filepath.Join(dataDir, DatabaseFile), storage.Options{
		Engine:            engine.Options{MemoryLimit: cfg.File.MemoryLimit, CheckpointThreshold: cfg.File.CheckpointThreshold},
		RetentionInterval: time.Duration(cfg.File.RetentionInterval),
		Logger:            log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("storage open", "file", filepath.Join(dataDir, DatabaseFile), "took", time.Since(start).Round(time.Millisecond))
	a.query = query.New(a.store, query.Options{Logger: log})
	a.mgmt = mgmt.New(a.store, a.query, mgmt.Options{Logger: log, Version: buildinfo.Version, Address: a.creds.DataEndpoint})
	a.ingest, err = pipeline.New(ctx, a.store, pipeline.Options{
		Logger:          log,
		AllowedDirs:     cfg.File.IngestAllowedDirs,
		StorageAccounts: storageAccounts(cfg.File),
	})
	if err != nil {
		return nil, err
	}
	sink := a.ingest.Sink()
	a.dc, err = startDataConnections(a.cfg, a.tls.ServerTLS, sink, sink, log)
	if err != nil {
		return nil, err
	}
	a.metrics.registry.MustRegister(a.dc.collectors()...)

	a.server = &http.Server{
		Handler:           a.routes(),
		TLSConfig:         a.tls.ServerTLS,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Resume every provisioned data connection, now that the manager runs.
	if err := a.arm.StartConnections(ctx); err != nil {
		return nil, fmt.Errorf("cannot resume data connections: %w", err)
	}
	ok = true
	return a, nil
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.server.ServeTLS(a.listener, "", "") }()
	a.log.Info("odx ready",
		"url", a.baseURL, "data", a.cfg.DataDir, "ca", a.tls.CAFile,
		"credentials", filepath.Join(a.cfg.DataDir, auth.CredentialsFileName))

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("https server: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("in-flight requests cut short", "err", err)
	}
	return nil
}

// Close releases everything New acquired, in reverse order.
func (a *App) Close() error {
	var errs []error
	// Stop taking work first, then let each layer commit what it holds:
	// connections commit what they read, the pipeline its pending batches.
	if a.arm != nil {
		a.arm.Close()
	}
	if a.dc != nil {
		a.dc.close()
	}
	if a.ingest != nil {
		errs = append(errs, a.ingest.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.listener != nil {
		a.listener.Close()
	}
	return errors.Join(errs...)
}

// storageAccounts passes the config's storage accounts to the pipeline, for
// `.ingest into` from blob URLs that carry no SAS.
func storageAccounts(f config.File) map[string]pipeline.StorageAccount {
	out := make(map[string]pipeline.StorageAccount, len(f.StorageAccounts))
	for name, sa := range f.StorageAccounts {
		out[name] = pipeline.StorageAccount{BlobEndpoint: sa.BlobEndpoint, AccountKey: sa.AccountKey, SASToken: sa.SASToken}
	}
	return out
}

// BaseURL is the https URL clients use to reach this odx.
func (a *App) BaseURL() string { return a.baseURL }

// baseURL is the public URL when configured, else https://<listen address>,
// with a wildcard host replaced by loopback (a URL must name a host).
func baseURL(public, listenAddr string) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	host, port, _ := net.SplitHostPort(listenAddr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port)
}
