// Package apnsclient sends notifications to Apple Push Notification service
// with sideshow/apns2, using token (.p8) or certificate authentication, and
// classifies every answer in one place (classify.go).
//
// Key material (the .p8 key, the certificate's private key, its password and
// the signed provider tokens) must never appear in an error or a log line:
// errors name the config path and the file, never the content.
package apnsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

// Environment selects Apple's production or development (sandbox) endpoint.
type Environment string

const (
	Production  Environment = "production"
	Development Environment = "development"
)

// Options configure a Client.
type Options struct {
	// Token auth: the .p8 file, its key id and the developer team id.
	KeyFile, KeyID, TeamID string
	// Certificate auth: a .p12 or PEM file and its password (may be "").
	CertFile, CertPassword string
	// Endpoint replaces Apple's hosts for both environments (tests); "" = Apple.
	Endpoint string
	// CAFile adds roots to trust for Endpoint (tests); "" = system roots.
	CAFile string
	// Timeout bounds one request.
	Timeout time.Duration
}

// Client pushes to APNs. It is safe for concurrent use.
type Client struct {
	tok     *token.Token // nil with certificate auth
	clients map[Environment]*apns2.Client
}

// New loads the credentials and prepares one HTTP/2 client per environment.
// It does not connect.
func New(o Options) (*Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the APNs CA file %q: %w", o.CAFile, pathErr(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the APNs CA file %q holds no PEM certificate", o.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	c := &Client{clients: map[Environment]*apns2.Client{}}
	switch {
	case o.KeyFile != "":
		key, err := token.AuthKeyFromFile(o.KeyFile)
		if err != nil {
			// The parser's own error is not passed on: keep key content out of errors.
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
				return nil, fmt.Errorf("reading the APNs key file %q: %w", o.KeyFile, pathErr(err))
			}
			return nil, fmt.Errorf("the APNs key file %q is not a PEM-encoded PKCS#8 ECDSA P-256 key (.p8 from Apple)", o.KeyFile)
		}
		c.tok = &token.Token{AuthKey: key, KeyID: o.KeyID, TeamID: o.TeamID}
		if _, err := c.tok.Generate(); err != nil {
			return nil, fmt.Errorf("signing an APNs provider token with the key from %q failed", o.KeyFile)
		}
	case o.CertFile != "":
		var (
			cert tls.Certificate
			err  error
		)
		if strings.HasSuffix(strings.ToLower(o.CertFile), ".p12") || strings.HasSuffix(strings.ToLower(o.CertFile), ".pfx") {
			cert, err = certificate.FromP12File(o.CertFile, o.CertPassword)
		} else {
			cert, err = certificate.FromPemFile(o.CertFile, o.CertPassword)
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
				return nil, fmt.Errorf("reading the APNs certificate file %q: %w", o.CertFile, pathErr(err))
			}
			return nil, fmt.Errorf("the APNs certificate file %q could not be loaded (wrong format or password)", o.CertFile)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	default:
		return nil, errors.New("no APNs credentials: set a token key file or a certificate file")
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for env, host := range map[Environment]string{Production: apns2.HostProduction, Development: apns2.HostDevelopment} {
		if o.Endpoint != "" {
			host = strings.TrimRight(o.Endpoint, "/")
		}
		ac := &apns2.Client{Host: host, Token: c.tok}
		if c.tok == nil {
			ac.Certificate = tlsCfg.Certificates[0]
		}
		ac.HTTPClient = &http.Client{
			Timeout: timeout,
			Transport: &http2.Transport{
				TLSClientConfig: tlsCfg.Clone(),
				DialTLSContext: func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
					d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 20 * time.Second, KeepAlive: 20 * time.Second}, Config: cfg}
					return d.DialContext(ctx, network, addr)
				},
				ReadIdleTimeout: 15 * time.Second,
			},
		}
		c.clients[env] = ac
	}
	return c, nil
}

// pathErr keeps only the operation and the cause of a file error.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Notification is one push to one device.
type Notification struct {
	Environment Environment
	DeviceToken string
	Topic       string
	CollapseID  string
	Priority    int
	Expiration  time.Time
	Payload     []byte
}

// Send pushes n once and classifies the answer. When the provider token has
// expired it makes a new one and sends once more at once.
func (c *Client) Send(ctx context.Context, n Notification) Verdict {
	ac := c.clients[n.Environment]
	if ac == nil {
		return Verdict{Kind: Permanent, Err: fmt.Errorf("unknown APNs environment %q", n.Environment)}
	}
	an := &apns2.Notification{
		DeviceToken: n.DeviceToken, Topic: n.Topic, CollapseID: n.CollapseID, Priority: n.Priority,
		Expiration: n.Expiration, Payload: n.Payload, PushType: apns2.PushTypeAlert,
	}
	v := Classify(ac.PushWithContext(ctx, an))
	if v.Kind == RefreshToken && c.tok != nil {
		c.RefreshToken()
		v = Classify(ac.PushWithContext(ctx, an))
		if v.Kind == RefreshToken {
			v.Kind = Retry
		}
	}
	return v
}

// RefreshToken signs a new provider token now (after ExpiredProviderToken).
func (c *Client) RefreshToken() {
	if c.tok == nil {
		return
	}
	c.tok.Lock()
	defer c.tok.Unlock()
	_, _ = c.tok.Generate()
}

// CloseIdleConnections releases idle HTTP/2 connections (Shutdown).
func (c *Client) CloseIdleConnections() {
	for _, ac := range c.clients {
		ac.CloseIdleConnections()
	}
}
