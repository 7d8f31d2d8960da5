package pulsarclient

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.uber.org/zap"
)

// Client is a pulsar-client-go client plus what is needed to explain its
// errors (which method authenticates, what the broker said at handshake).
type Client struct {
	pulsar.Client
	cfg    *ClientConfig
	logger *Logger
}

// NewClient loads TLS material and creates the client. The client connects
// lazily, so this does not fail when the broker is down.
func NewClient(ctx context.Context, cfg *ClientConfig, logger *zap.Logger) (*Client, error) {
	opts, err := cfg.ClientOptions(ctx, logger)
	if err != nil {
		return nil, err
	}
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("creating pulsar client for %s: %w", cfg.ServiceURL, err)
	}
	return &Client{Client: c, cfg: cfg, logger: opts.Logger.(*Logger)}, nil
}

// Explain adds what the client knows but the error lost: if the broker
// rejected a handshake since started, the error is marked ErrAuthRejected and
// names the service URL, the auth method and the broker's message (never the
// credentials themselves).
func (c *Client) Explain(err error, started time.Time) error {
	if err == nil {
		return nil
	}
	if msg := c.logger.LastHandshakeRejection(started); msg != "" {
		return fmt.Errorf("%w: %s refused the connection for auth method %q (broker said %q): %v",
			ErrAuthRejected, c.cfg.ServiceURL, c.cfg.Auth.Method(), msg, err)
	}
	return err
}

// HandshakeRejections counts the connection attempts the broker refused.
func (c *Client) HandshakeRejections() int64 { return c.logger.HandshakeRejections() }

// RejectedSince reports whether the broker refused a handshake after t.
func (c *Client) RejectedSince(t time.Time) bool { return c.logger.LastHandshakeRejection(t) != "" }
