package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"odx/internal/app"
	"odx/internal/config"
)

const serveUsage = `
Usage: odx serve [--data DIR] [--listen ADDR] [--kafka-listen ADDR] [--mqtt-listen ADDR] [--config FILE]

Runs odx: the Kusto data plane (KQL over /v1/rest and /v2/rest), the
Microsoft.Kusto management API, an Azure AD-compatible token endpoint, and the
data connections. Everything listens on loopback unless told otherwise.

The first start creates, under the data directory:
  tls/ca.pem          the CA to trust (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)
  credentials.json    the bootstrap service principal that owns everything (0600)
  odx.duckdb          every database, table, row and resource
Later starts reuse them. 'odx env' prints the variables the Azure SDKs need.

SIGTERM or Ctrl-C shuts down cleanly.`

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveUsage, stderr)
	var cfg config.Serve
	fs.StringVar(&cfg.DataDir, "data", config.DefaultDataDir, "data directory (created on first start)")
	fs.StringVar(&cfg.Listen, "listen", config.DefaultListen, "HTTPS address: data plane, ARM API and token endpoint")
	fs.StringVar(&cfg.KafkaListen, "kafka-listen", config.DefaultKafkaListen, "address of the embedded event hub (Kafka protocol)")
	fs.StringVar(&cfg.MQTTListen, "mqtt-listen", config.DefaultMQTTListen, "address of the embedded IoT hub (MQTT over TLS)")
	fs.StringVar(&cfg.FilePath, "config", "", "optional YAML configuration file (see README)")
	var tlsHosts repeated
	fs.Var(&tlsHosts, "tls-host", "extra DNS name or IP for the server certificate (repeatable)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.FilePath != "" {
		f, err := config.Load(cfg.FilePath)
		if err != nil {
			return err
		}
		cfg.File = f
	}
	cfg.File.TLSHosts = append(cfg.File.TLSHosts, tlsHosts...)

	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	runErr := a.Run(ctx)
	if err := a.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		log.Info("stopped")
	}
	return runErr
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, errBadFormat(format)
}

type errBadFormat string

func (e errBadFormat) Error() string { return "--log-format " + string(e) + ": use text or json" }
