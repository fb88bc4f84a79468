// Package blobstore reads the blobs that data connections ingest: blobs of
// storage accounts the configuration binds to an Azure Blob endpoint (Azure
// Storage or Azurite, with an account key or a SAS), and, for every other
// account, files of odx's embedded storage: the folder
// <root>/<account>/<container>/<path> under the data directory.
//
// Blobs are named by their URL as Event Grid announces them:
// https://<account>.blob.core.windows.net/<container>/<path> (or .dfs. for
// ADLS Gen2), or a path-style URL under a bound endpoint
// (http://127.0.0.1:10000/devstoreaccount1/<container>/<path>).
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// Account binds a storage account to an Azure Blob endpoint
// (config storageAccounts).
type Account struct {
	// BlobEndpoint is e.g. https://acct.blob.core.windows.net or Azurite's
	// http://127.0.0.1:10000/devstoreaccount1.
	BlobEndpoint string
	AccountKey   string // base64 shared key
	SASToken     string // account or container SAS, with or without the leading '?'
}

// Options configure a Store.
type Options struct {
	// Accounts are the bound storage accounts by name (case-insensitive).
	Accounts map[string]Account
	// Root is the embedded storage folder (<data dir>/storage); accounts
	// Accounts does not bind are its subfolders. "" means unbound accounts
	// are refused.
	Root string
	// HTTPClient reaches the blob endpoints; nil uses a default client.
	HTTPClient *http.Client
}

// Store reads blobs. It is safe for concurrent use.
type Store struct {
	accounts map[string]Account
	root     string
	client   *http.Client
}

// New makes a Store.
func New(o Options) *Store {
	acc := make(map[string]Account, len(o.Accounts))
	for k, v := range o.Accounts {
		acc[strings.ToLower(k)] = v
	}
	cl := o.HTTPClient
	if cl == nil {
		cl = &http.Client{Timeout: 30 * time.Minute}
	}
	return &Store{accounts: acc, root: o.Root, client: cl}
}

// ErrNotFound is returned (wrapped) for a blob that does not exist, or no
// longer has the content its notification announced.
var ErrNotFound = errors.New("blob not found")

// ErrAccess is returned (wrapped) when the endpoint refuses the configured
// credentials.
var ErrAccess = errors.New("access to the blob was denied")

// Ref is a blob located: its account and its path inside the account.
type Ref struct {
	Account   string // lower case
	Container string
	Path      string // blob name inside the container
	URL       string // as announced, without query
}

// Embedded reports whether the account is served from the embedded folder.
func (s *Store) Embedded(account string) bool {
	_, bound := s.accounts[strings.ToLower(account)]
	return !bound
}

// Root is the embedded storage folder ("" when off).
func (s *Store) Root() string { return s.root }

// Parse locates a blob URL: the account from the host
// (<account>.blob|dfs.core.windows.net), from a bound endpoint the URL lies
// under, or from the first path segment (path-style, as Azurite).
func (s *Store) Parse(raw string) (Ref, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Ref{}, fmt.Errorf("%q is not a blob URL", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	clean := u.String()
	rest := strings.TrimPrefix(u.Path, "/")
	host := strings.ToLower(u.Hostname())
	account := ""
	for _, suffix := range []string{".blob.core.windows.net", ".dfs.core.windows.net"} {
		if a, ok := strings.CutSuffix(host, suffix); ok {
			account = a
		}
	}
	if account == "" {
		for name, a := range s.accounts {
			ep, err := url.Parse(strings.TrimRight(a.BlobEndpoint, "/"))
			if err != nil || !strings.EqualFold(ep.Host, u.Host) {
				continue
			}
			if p := strings.TrimPrefix(ep.Path, "/"); p == "" || strings.HasPrefix(rest, p+"/") {
				account, rest = name, strings.TrimPrefix(strings.TrimPrefix(rest, p), "/")
				break
			}
		}
	}
	if account == "" {
		// Path-style: http://host:port/<account>/<container>/<path>.
		a, r, ok := strings.Cut(rest, "/")
		if !ok {
			return Ref{}, fmt.Errorf("blob URL %s names no container", clean)
		}
		account, rest = strings.ToLower(a), r
	}
	container, name, ok := strings.Cut(rest, "/")
	if !ok || container == "" || name == "" {
		return Ref{}, fmt.Errorf("blob URL %s names no container and blob (want .../<container>/<blob>)", clean)
	}
	return Ref{Account: account, Container: container, Path: name, URL: clean}, nil
}

// Props are a blob's properties.
type Props struct {
	ETag     string
	Size     int64
	Modified time.Time
	// Metadata keys are lower case: the wire says x-ms-meta-kustoTable,
	// net/http hands back Kustotable and listings kustotable.
	Metadata map[string]string
}

// Stat reads a blob's properties. Errors wrap ErrNotFound or ErrAccess
// when the blob is missing or access is refused; anything else is worth
// retrying (the storage is unreachable or failing).
func (s *Store) Stat(ctx context.Context, r Ref) (Props, error) {
	if s.Embedded(r.Account) {
		return s.statLocal(r)
	}
	c, err := s.blobClient(r)
	if err != nil {
		return Props{}, err
	}
	resp, err := c.GetProperties(ctx, nil)
	if err != nil {
		return Props{}, classify(r, err)
	}
	p := Props{Metadata: map[string]string{}}
	if resp.ETag != nil {
		p.ETag = string(*resp.ETag)
	}
	if resp.ContentLength != nil {
		p.Size = *resp.ContentLength
	}
	if resp.LastModified != nil {
		p.Modified = *resp.LastModified
	}
	for k, v := range resp.Metadata {
		if v != nil {
			p.Metadata[strings.ToLower(k)] = *v
		}
	}
	return p, nil
}

// Open streams a blob's content. With a non-empty etag the blob must still
// have that content (ErrNotFound otherwise): a blob rewritten since its
// notification is a new blob with its own notification.
func (s *Store) Open(ctx context.Context, r Ref, etag string) (io.ReadCloser, error) {
	if s.Embedded(r.Account) {
		return s.openLocal(r, etag)
	}
	c, err := s.blobClient(r)
	if err != nil {
		return nil, err
	}
	var opts blob.DownloadStreamOptions
	if etag != "" {
		e := azcore.ETag(etag)
		opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e}}
	}
	resp, err := c.DownloadStream(ctx, &opts)
	if err != nil {
		return nil, classify(r, err)
	}
	// The retry reader resumes a dropped download at the byte it reached.
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5}), nil
}

// client_ builds the azblob client of a bound account's blob.
func (s *Store) blobClient(r Ref) (*blob.Client, error) {
	a := s.accounts[r.Account]
	ep := strings.TrimRight(a.BlobEndpoint, "/")
	if ep == "" {
		ep = "https://" + r.Account + ".blob.core.windows.net"
	}
	target := ep + "/" + escapePath(r.Container) + "/" + escapePath(r.Path)
	opts := &blob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: s.client, InsecureAllowCredentialWithHTTP: true,
		// Few, quick SDK retries: the connector retries with its own
		// backoff and shows the outage in the connection's state.
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}}
	if a.AccountKey != "" {
		cred, err := blob.NewSharedKeyCredential(keyAccountName(ep, r.Account), a.AccountKey)
		if err != nil {
			return nil, fmt.Errorf("the accountKey of storage account %s in the configuration is not valid base64: %w", r.Account, err)
		}
		return blob.NewClientWithSharedKeyCredential(target, cred, opts)
	}
	return blob.NewClientWithNoCredential(target+"?"+strings.TrimPrefix(a.SASToken, "?"), opts)
}

// keyAccountName is the account name shared-key signatures use: the
// endpoint's host prefix, or the first path segment of a path-style
// endpoint (Azurite's devstoreaccount1), else the configured name.
func keyAccountName(endpoint, configured string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return configured
	}
	if a, ok := strings.CutSuffix(strings.ToLower(u.Hostname()), ".blob.core.windows.net"); ok {
		return a
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return strings.SplitN(p, "/", 2)[0]
	}
	return configured
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func classify(r Ref, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w (%s)", r.URL, ErrNotFound, re.ErrorCode)
		case http.StatusPreconditionFailed:
			return fmt.Errorf("%s: %w (it was rewritten after its notification; the new content has its own notification)", r.URL, ErrNotFound)
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("%s: %w (%s); check accountKey or sasToken of storage account %s in the configuration", r.URL, ErrAccess, re.ErrorCode, r.Account)
		}
		return fmt.Errorf("storage account %s answered %d %s for %s", r.Account, re.StatusCode, re.ErrorCode, r.URL)
	}
	return fmt.Errorf("storage account %s is unreachable: %w", r.Account, err)
}

// LocalPath is the file of an embedded blob.
func (s *Store) LocalPath(r Ref) (string, error) {
	if s.root == "" {
		return "", fmt.Errorf("storage account %s is not bound in the configuration (storageAccounts) and the embedded storage is off", r.Account)
	}
	rel := filepath.FromSlash(r.Container + "/" + r.Path)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s: %w (the blob name leaves its container)", r.URL, ErrNotFound)
	}
	return filepath.Join(s.root, r.Account, rel), nil
}

func (s *Store) statLocal(r Ref) (Props, error) {
	p, err := s.LocalPath(r)
	if err != nil {
		return Props{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return Props{}, fmt.Errorf("%s: %w (no file %s)", r.URL, ErrNotFound, p)
	}
	if err != nil {
		return Props{}, fmt.Errorf("embedded storage: %w", err)
	}
	return Props{ETag: LocalETag(fi), Size: fi.Size(), Modified: fi.ModTime().UTC(), Metadata: map[string]string{}}, nil
}

// LocalETag identifies a file's content version: its modification time and
// size (rewriting a file makes it a new blob, as in Azure Storage).
func LocalETag(fi os.FileInfo) string {
	return fmt.Sprintf("\"0x%X-%d\"", fi.ModTime().UnixNano(), fi.Size())
}

func (s *Store) openLocal(r Ref, etag string) (io.ReadCloser, error) {
	p, err := s.LocalPath(r)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no file %s)", r.URL, ErrNotFound, p)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded storage: %w", err)
	}
	if etag != "" {
		fi, err := f.Stat()
		if err != nil || LocalETag(fi) != etag {
			f.Close()
			return nil, fmt.Errorf("%s: %w (the file changed after its notification; the new content has its own notification)", r.URL, ErrNotFound)
		}
	}
	return f, nil
}
