package pulsarclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ClientConfig)
		wantErr string
	}{
		{name: "default", mutate: func(*ClientConfig) {}},
		{name: "no url", mutate: func(c *ClientConfig) { c.ServiceURL = "" }, wantErr: "service_url: must be set"},
		{name: "http url", mutate: func(c *ClientConfig) { c.ServiceURL = "http://x:8080" }, wantErr: `service_url: scheme "http" is not supported`},
		{name: "multi host", mutate: func(c *ClientConfig) { c.ServiceURL = "pulsar://a:6650,b:6650" }},
		{name: "negative timeout", mutate: func(c *ClientConfig) { c.OperationTimeout = -time.Second }, wantErr: "operation_timeout: must not be negative"},
		{name: "tls on plain url", mutate: func(c *ClientConfig) { c.TLS.CAFile = "/ca.pem" }, wantErr: "tls: is set but service_url uses pulsar://"},
		{name: "tls ok", mutate: func(c *ClientConfig) { c.ServiceURL = "pulsar+ssl://x:6651"; c.TLS.CAFile = "/ca.pem" }},
		{name: "token", mutate: func(c *ClientConfig) { c.Auth.Token = "a.b.c" }},
		{name: "token with newline", mutate: func(c *ClientConfig) { c.Auth.Token = "a.b.c\n" }, wantErr: "auth.token: contains white space"},
		{name: "token and file", mutate: func(c *ClientConfig) { c.Auth.Token = "a.b.c"; c.Auth.TokenFile = "/t" }, wantErr: "auth: exactly one authentication method may be set, found token, token_file"},
		{name: "token and oauth2", mutate: func(c *ClientConfig) {
			c.Auth.TokenFile = "/t"
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", ClientID: "a", ClientSecret: "b"}
		}, wantErr: "found token_file, oauth2"},
		{name: "tls cert auth without cert", mutate: func(c *ClientConfig) {
			c.ServiceURL = "pulsar+ssl://x:6651"
			c.Auth.TLSClientCertificate = true
		}, wantErr: "auth.tls_client_certificate: needs tls.cert_file and tls.key_file"},
		{name: "tls cert auth on plain url", mutate: func(c *ClientConfig) { c.Auth.TLSClientCertificate = true }, wantErr: "auth.tls_client_certificate: needs a pulsar+ssl:// service_url"},
		{name: "tls cert auth", mutate: func(c *ClientConfig) {
			c.ServiceURL = "pulsar+ssl://x:6651"
			c.TLS.CertFile, c.TLS.KeyFile = "/c.pem", "/k.pem"
			c.Auth.TLSClientCertificate = true
		}},
		{name: "oauth2 inline", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", ClientID: "a", ClientSecret: "b", Audience: "urn:pulsar"}
		}},
		{name: "oauth2 file", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", CredentialsFile: "/creds.json"}
		}},
		{name: "oauth2 both", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", ClientID: "a", ClientSecret: "b", CredentialsFile: "/c"}
		}, wantErr: "auth.oauth2: set client_id/client_secret or credentials_file, not both"},
		{name: "oauth2 half", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", ClientID: "a"}
		}, wantErr: "auth.oauth2: client_id and client_secret must both be set"},
		{name: "oauth2 none", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp"}
		}, wantErr: "auth.oauth2: set client_id and client_secret, or credentials_file"},
		{name: "oauth2 bad issuer", mutate: func(c *ClientConfig) {
			c.Auth.OAuth2 = &OAuth2Config{IssuerURL: "idp", CredentialsFile: "/c"}
		}, wantErr: `auth.oauth2.issuer_url: "idp" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultClientConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	cfg := NewDefaultClientConfig()
	cfg.Auth.Token = "secret-token-value\n"
	cfg.Auth.OAuth2 = &OAuth2Config{IssuerURL: "https://idp", ClientID: "a", ClientSecret: "secret-client-value"}
	err := cfg.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-token-value")
	assert.NotContains(t, err.Error(), "secret-client-value")
}

func TestAuthMethod(t *testing.T) {
	assert.Equal(t, "none", (&AuthConfig{}).Method())
	assert.Equal(t, "token_file", (&AuthConfig{TokenFile: "/t"}).Method())
	assert.Equal(t, "oauth2", (&AuthConfig{OAuth2: &OAuth2Config{}}).Method())
}

func TestClientOptions(t *testing.T) {
	cfg := NewDefaultClientConfig()
	cfg.Auth.Token = "a.b.c"
	opts, err := cfg.ClientOptions(context.Background(), zap.NewNop())
	require.NoError(t, err)
	assert.Equal(t, "pulsar://localhost:6650", opts.URL)
	assert.Nil(t, opts.TLSConfig)
	require.NotNil(t, opts.Authentication)
	assert.NotNil(t, opts.MetricsRegisterer)

	cfg = NewDefaultClientConfig()
	cfg.ServiceURL = "pulsar+ssl://x:6651"
	cfg.TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: "/does/not/exist.pem"}}
	_, err = cfg.ClientOptions(context.Background(), zap.NewNop())
	require.ErrorContains(t, err, "tls: loading certificates")

	cfg = NewDefaultClientConfig()
	cfg.ServiceURL = "pulsar+ssl://x:6651"
	opts, err = cfg.ClientOptions(context.Background(), zap.NewNop())
	require.NoError(t, err)
	require.NotNil(t, opts.TLSConfig)
	assert.True(t, opts.TLSValidateHostname)
	assert.Nil(t, opts.Authentication)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		class  Class
		reason string
	}{
		{pulsar.ErrSendTimeout, Retryable, "timeout"},
		{context.DeadlineExceeded, Retryable, "timeout"},
		{errors.New("connection error"), Retryable, "connection"},
		{errors.New("something odd"), Retryable, "unknown"},
		{pulsar.ErrMessageTooLarge, Permanent, "too_large"},
		{pulsar.ErrTopicTerminated, Permanent, "topic"},
		{pulsar.ErrInvalidMessage, Permanent, "invalid_message"},
		{pulsar.ErrSendQueueIsFull, Throttled, "queue_full"},
		{pulsar.ErrProducerBlockedQuotaExceeded, Throttled, "quota"},
		{pulsar.ErrProducerClosed, Retryable, "closed"},
		{errors.New("server error: AuthenticationError: invalid token"), Throttled, "auth"},
		{errors.Join(ErrAuthRejected, errors.New("connection error")), Throttled, "auth"},
	}
	for _, tt := range tests {
		v := Classify(tt.err)
		assert.Equal(t, tt.class, v.Class, tt.err.Error())
		assert.Equal(t, tt.reason, v.Reason, tt.err.Error())
		if v.Class == Throttled {
			assert.Positive(t, v.RetryAfter, tt.err.Error())
		}
	}
	assert.True(t, ProducerGone(pulsar.ErrProducerClosed))
	assert.False(t, ProducerGone(pulsar.ErrSendTimeout))
}

func TestLoggerRemembersHandshakeRejection(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := NewLogger(zap.New(core))
	start := time.Now()
	l.WithField("remote", "x").Info("Connection is ready")
	assert.Empty(t, l.LastHandshakeRejection(start))
	l.SubLogger(nil).Warnf("Failed to establish connection with broker: '%s'", "Unable to authenticate")
	assert.Equal(t, "Unable to authenticate", l.LastHandshakeRejection(start))
	assert.Empty(t, l.LastHandshakeRejection(time.Now().Add(time.Second)))
	// Info from the client is demoted to debug.
	assert.Equal(t, zap.DebugLevel, logs.All()[0].Level)

	c := &Client{cfg: &ClientConfig{ServiceURL: "pulsar://b:6650", Auth: AuthConfig{Token: "secret.jwt.value"}}, logger: l}
	err := c.Explain(errors.New("connection error"), start)
	require.ErrorIs(t, err, ErrAuthRejected)
	assert.Contains(t, err.Error(), `auth method "token"`)
	assert.Contains(t, err.Error(), "Unable to authenticate")
	assert.NotContains(t, err.Error(), "secret.jwt.value")
	assert.Equal(t, "auth", Classify(err).Reason)
}
