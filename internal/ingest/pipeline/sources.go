package pipeline

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"odx/internal/kerr"
)

// Download error codes (ADX's error-codes.md).
const (
	CodeDownloadForbidden = "Download_Forbidden"
	CodeDownloadNotFound  = "Download_SourceNotFound"
	CodeDownloadFailed    = "Download_UnknownError"
)

// openSource opens one `.ingest into` source: an https URL (a SAS in its
// query is used as is), an Azure blob URL with `;<account key>` appended (ADX's
// syntax) or of an account odx's config binds, or a local file under one of
// the allowed directories. name is the source without its secrets, for
// failures and SourceLocation.
func (s *Service) openSource(ctx context.Context, uri string) (rc io.ReadCloser, name string, err error) {
	uri = strings.TrimSpace(uri)
	switch {
	case strings.HasPrefix(uri, "https://"), strings.HasPrefix(uri, "http://"):
		return s.openURL(ctx, uri)
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return nil, uri, kerr.BadRequestf("the source %s is not a valid file URI: %v", uri, err)
		}
		return s.openLocal(u.Path)
	case filepath.IsAbs(uri):
		return s.openLocal(uri)
	}
	return nil, uri, kerr.BadRequestf("the source %q is neither an https URL nor an absolute local path; give h'https://...' or a file under an allowed directory", redact(uri))
}

// openLocal opens a file when it lies under an allowed directory, after
// resolving symbolic links, so that nothing else on the disk is readable.
func (s *Service) openLocal(path string) (io.ReadCloser, string, error) {
	clean := filepath.Clean(path)
	if len(s.opts.AllowedDirs) == 0 {
		return nil, clean, kerr.New(kerr.Forbidden, CodeDownloadForbidden,
			"ingesting local files is disabled; list the folder under ingestAllowedDirs in odx's config file")
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, clean, kerr.New(kerr.BadRequest, CodeDownloadNotFound, "the file %s does not exist", clean)
		}
		return nil, clean, kerr.New(kerr.BadRequest, CodeDownloadFailed, "the file %s cannot be read: %v", clean, err)
	}
	allowed := false
	for _, dir := range s.opts.AllowedDirs {
		d, err := filepath.EvalSymlinks(filepath.Clean(dir))
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(d, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, clean, kerr.New(kerr.Forbidden, CodeDownloadForbidden,
			"the file %s is outside the directories odx may read (ingestAllowedDirs: %s)", clean, strings.Join(s.opts.AllowedDirs, ", "))
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, clean, kerr.New(kerr.BadRequest, CodeDownloadFailed, "the file %s cannot be opened: %v", clean, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, clean, kerr.BadRequestf("%s is a directory; name the files to ingest", clean)
	}
	return f, clean, nil
}

// redact drops a URL's query (SAS) and an appended ;key.
func redact(uri string) string {
	if i := strings.IndexByte(uri, ';'); i >= 0 {
		uri = uri[:i]
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// blobAccount finds the storage account a URL names, and the config entry
// for it: https://<account>.blob.core.windows.net/... or a path-style URL
// under a configured blobEndpoint (Azurite: http://127.0.0.1:10000/<account>/...).
func (s *Service) blobAccount(u *url.URL) (account string, acct StorageAccount, blobURL string, ok bool) {
	if a, found := strings.CutSuffix(strings.ToLower(u.Hostname()), ".blob.core.windows.net"); found {
		acct, ok = s.opts.StorageAccounts[a]
		if !ok {
			return a, acct, "", false
		}
		blobURL = "https://" + u.Host + u.EscapedPath()
		if acct.BlobEndpoint != "" {
			blobURL = strings.TrimRight(acct.BlobEndpoint, "/") + u.EscapedPath()
		}
		return a, acct, blobURL, true
	}
	for name, a := range s.opts.StorageAccounts {
		if a.BlobEndpoint == "" {
			continue
		}
		ep, err := url.Parse(strings.TrimRight(a.BlobEndpoint, "/"))
		if err != nil || !strings.EqualFold(ep.Host, u.Host) {
			continue
		}
		if strings.HasPrefix(u.EscapedPath(), ep.EscapedPath()+"/") {
			return name, a, u.Scheme + "://" + u.Host + u.EscapedPath(), true
		}
	}
	return "", StorageAccount{}, "", false
}

func (s *Service) openURL(ctx context.Context, uri string) (io.ReadCloser, string, error) {
	name := redact(uri)
	raw, key, hasKey := strings.Cut(uri, ";")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, name, kerr.BadRequestf("the source %s is not a valid URL: %v", name, err)
	}
	account, acct, blobURL, bound := s.blobAccount(u)
	if u.Scheme == "http" && !s.opts.AllowHTTP && !bound {
		return nil, name, kerr.BadRequestf("the source %s uses http; odx reads https URLs only (or http endpoints of storage accounts its config binds)", name)
	}
	switch {
	case hasKey:
		// ADX's `https://account.blob.core.windows.net/c/blob;<key>` form.
		if account == "" {
			account = strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)[0]
		}
		target := raw
		if bound {
			target = blobURL
		}
		return s.openBlobWithKey(ctx, target, account, key, name)
	case u.RawQuery != "":
		return s.httpGet(ctx, raw, name) // a SAS or a public URL with a query
	case bound && acct.SASToken != "":
		return s.httpGet(ctx, blobURL+"?"+strings.TrimPrefix(acct.SASToken, "?"), name)
	case bound && acct.AccountKey != "":
		return s.openBlobWithKey(ctx, blobURL, account, acct.AccountKey, name)
	}
	return s.httpGet(ctx, raw, name)
}

func (s *Service) openBlobWithKey(ctx context.Context, blobURL, account, key, name string) (io.ReadCloser, string, error) {
	cred, err := blob.NewSharedKeyCredential(account, key)
	if err != nil {
		return nil, name, kerr.New(kerr.BadRequest, "BadRequest_InvalidAuthentication", "the account key for storage account %s is not valid base64: %v", account, err)
	}
	client, err := blob.NewClientWithSharedKeyCredential(blobURL, cred, &blob.ClientOptions{ClientOptions: policy.ClientOptions{
		Transport: s.opts.HTTPClient, InsecureAllowCredentialWithHTTP: true}})
	if err != nil {
		return nil, name, kerr.BadRequestf("cannot reach blob %s: %v", name, err)
	}
	resp, err := client.DownloadStream(ctx, nil)
	if err != nil {
		return nil, name, downloadError(name, err)
	}
	return resp.Body, name, nil
}

func downloadError(name string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusForbidden, http.StatusUnauthorized:
			return kerr.New(kerr.Forbidden, CodeDownloadForbidden, "access to %s was denied (%s); check the SAS or account key", name, re.ErrorCode)
		case http.StatusNotFound:
			return kerr.New(kerr.BadRequest, CodeDownloadNotFound, "%s was not found (%s)", name, re.ErrorCode)
		}
	}
	return kerr.New(kerr.Unavailable, CodeDownloadFailed, "downloading %s failed: %v", name, err)
}

func (s *Service) httpGet(ctx context.Context, target, name string) (io.ReadCloser, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, name, kerr.BadRequestf("the source %s is not a valid URL: %v", name, err)
	}
	req.Header.Set("x-ms-version", "2021-08-06") // blob storage wants a version with a SAS
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, name, kerr.New(kerr.Unavailable, CodeDownloadFailed, "downloading %s failed: %v", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusForbidden, http.StatusUnauthorized:
			return nil, name, kerr.New(kerr.Forbidden, CodeDownloadForbidden, "access to %s was denied (HTTP %d); check the SAS token", name, resp.StatusCode)
		case http.StatusNotFound:
			return nil, name, kerr.New(kerr.BadRequest, CodeDownloadNotFound, "%s was not found (HTTP 404)", name)
		}
		return nil, name, kerr.New(kerr.Unavailable, CodeDownloadFailed, "downloading %s failed: HTTP %d", name, resp.StatusCode)
	}
	return resp.Body, name, nil
}
