package pulsarclient

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.uber.org/zap"
)

// ClientConfig is the connection part of every Pulsar component's config. It
// is squashed into the component config, so its keys sit at the top level:
//
//	service_url: pulsar+ssl://broker:6651
//	tls: {ca_file: /etc/ca.pem}
//	auth: {token_file: /var/run/secrets/pulsar/token}
type ClientConfig struct {
	// ServiceURL is the broker service URL: pulsar://host:6650 for plain TCP,
	// pulsar+ssl://host:6651 for TLS. A comma-separated host list
	// (pulsar://a:6650,b:6650) is passed through to the client.
	ServiceURL string `mapstructure:"service_url"`

	// ConnectionTimeout bounds establishing one TCP (and TLS) connection.
	ConnectionTimeout time.Duration `mapstructure:"connection_timeout"`

	// OperationTimeout bounds producer creation, subscribe and lookups; the
	// client retries inside this window.
	OperationTimeout time.Duration `mapstructure:"operation_timeout"`

	// TLS configures the transport when ServiceURL uses pulsar+ssl://: CA,
	// client certificate (mTLS), server name, minimum version, reload.
	TLS configtls.ClientConfig `mapstructure:"tls"`

	// Auth selects at most one Pulsar authentication method.
	Auth AuthConfig `mapstructure:"auth"`

	// ListenerName selects a named advertised listener of the broker.
	ListenerName string `mapstructure:"listener_name"`
}

// AuthConfig selects exactly one Pulsar authentication method, or none.
type AuthConfig struct {
	// Token is a JWT given inline (prefer token_file or ${env:…}).
	Token configopaque.String `mapstructure:"token"`

	// TokenFile is a file holding the JWT. It is read on every connection, so
	// a rotated token is picked up without a restart.
	TokenFile string `mapstructure:"token_file"`

	// OAuth2 uses the OAuth 2.0 client-credentials flow.
	OAuth2 *OAuth2Config `mapstructure:"oauth2"`

	// TLSClientCertificate authenticates with the client certificate from
	// tls.cert_file / tls.key_file (Pulsar's AuthenticationProviderTls).
	TLSClientCertificate bool `mapstructure:"tls_client_certificate"`
}

// OAuth2Config is the OAuth 2.0 client-credentials flow. Either ClientID and
// ClientSecret, or CredentialsFile (a Pulsar key file: JSON with client_id and
// client_secret) must be given.
type OAuth2Config struct {
	// IssuerURL is the authorization server (its /.well-known/openid-configuration is read).
	IssuerURL string `mapstructure:"issuer_url"`
	// Audience is the audience requested for the token (the Pulsar cluster).
	Audience string `mapstructure:"audience"`
	// Scope is a space-separated list of extra scopes.
	Scope string `mapstructure:"scope"`
	// ClientID with ClientSecret give the credentials inline.
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// CredentialsFile is a Pulsar OAuth2 key file (JSON: client_id, client_secret).
	CredentialsFile string `mapstructure:"credentials_file"`
}

// NewDefaultClientConfig returns the defaults shared by all Pulsar components.
func NewDefaultClientConfig() ClientConfig {
	return ClientConfig{
		ServiceURL:        "pulsar://localhost:6650",
		ConnectionTimeout: 5 * time.Second,
		OperationTimeout:  30 * time.Second,
	}
}

// Validate checks the config without I/O. Errors name the YAML key.
func (c *ClientConfig) Validate() error {
	var errs []error
	tlsScheme, err := checkServiceURL(c.ServiceURL)
	if err != nil {
		errs = append(errs, err)
	}
	if c.ConnectionTimeout < 0 {
		errs = append(errs, errors.New("connection_timeout: must not be negative"))
	}
	if c.OperationTimeout < 0 {
		errs = append(errs, errors.New("operation_timeout: must not be negative"))
	}
	tlsSet := c.TLS.CAFile != "" || c.TLS.CAPem != "" || c.TLS.CertFile != "" || c.TLS.CertPem != "" ||
		c.TLS.KeyFile != "" || c.TLS.KeyPem != "" || c.TLS.InsecureSkipVerify || c.TLS.ServerName != ""
	if err == nil && tlsSet && !tlsScheme {
		errs = append(errs, errors.New("tls: is set but service_url uses pulsar://; use pulsar+ssl:// for TLS"))
	}
	if c.TLS.Insecure {
		errs = append(errs, errors.New("tls.insecure: plain-text is chosen by the service_url scheme (pulsar://), not by tls.insecure"))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	if err := c.Auth.validate(&c.TLS, tlsScheme); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkServiceURL(s string) (tlsScheme bool, err error) {
	if s == "" {
		return false, errors.New("service_url: must be set, e.g. pulsar://localhost:6650")
	}
	u, perr := url.Parse(s)
	if perr != nil {
		return false, fmt.Errorf("service_url: %q is not a URL: %w", s, perr)
	}
	switch u.Scheme {
	case "pulsar":
		return false, nil
	case "pulsar+ssl":
		return true, nil
	default:
		return false, fmt.Errorf("service_url: scheme %q is not supported; use pulsar:// or pulsar+ssl://", u.Scheme)
	}
}

// Method names the configured authentication method ("none" when none is set).
func (a *AuthConfig) Method() string {
	methods := a.methods()
	if len(methods) == 0 {
		return "none"
	}
	return methods[0]
}

func (a *AuthConfig) methods() []string {
	var m []string
	if a.Token != "" {
		m = append(m, "token")
	}
	if a.TokenFile != "" {
		m = append(m, "token_file")
	}
	if a.OAuth2 != nil {
		m = append(m, "oauth2")
	}
	if a.TLSClientCertificate {
		m = append(m, "tls_client_certificate")
	}
	return m
}

func (a *AuthConfig) validate(tlsCfg *configtls.ClientConfig, tlsScheme bool) error {
	methods := a.methods()
	if len(methods) > 1 {
		return fmt.Errorf("auth: exactly one authentication method may be set, found %s", strings.Join(methods, ", "))
	}
	switch {
	case a.Token != "":
		if strings.ContainsAny(string(a.Token), " \t\r\n") {
			return errors.New("auth.token: contains white space; a JWT has none (check for a trailing newline)")
		}
	case a.TLSClientCertificate:
		if !tlsScheme {
			return errors.New("auth.tls_client_certificate: needs a pulsar+ssl:// service_url")
		}
		if (tlsCfg.CertFile == "" && tlsCfg.CertPem == "") || (tlsCfg.KeyFile == "" && tlsCfg.KeyPem == "") {
			return errors.New("auth.tls_client_certificate: needs tls.cert_file and tls.key_file (or cert_pem/key_pem)")
		}
	case a.OAuth2 != nil:
		return a.OAuth2.validate()
	}
	return nil
}

func (o *OAuth2Config) validate() error {
	var errs []error
	if o.IssuerURL == "" {
		errs = append(errs, errors.New("auth.oauth2.issuer_url: must be set"))
	} else if u, err := url.Parse(o.IssuerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("auth.oauth2.issuer_url: %q is not an http(s) URL", o.IssuerURL))
	}
	inline := o.ClientID != "" || o.ClientSecret != ""
	switch {
	case inline && o.CredentialsFile != "":
		errs = append(errs, errors.New("auth.oauth2: set client_id/client_secret or credentials_file, not both"))
	case !inline && o.CredentialsFile == "":
		errs = append(errs, errors.New("auth.oauth2: set client_id and client_secret, or credentials_file"))
	case inline && (o.ClientID == "" || o.ClientSecret == ""):
		errs = append(errs, errors.New("auth.oauth2: client_id and client_secret must both be set"))
	}
	return errors.Join(errs...)
}

// ClientOptions turns the config into pulsar-client-go options. It loads TLS
// material, so it belongs in a component's Start, not in Validate.
func (c *ClientConfig) ClientOptions(ctx context.Context, logger *zap.Logger) (pulsar.ClientOptions, error) {
	opts := pulsar.ClientOptions{
		URL:               c.ServiceURL,
		ConnectionTimeout: c.ConnectionTimeout,
		OperationTimeout:  c.OperationTimeout,
		ListenerName:      c.ListenerName,
		Logger:            NewLogger(logger),
		// Components report their own telemetry; a private registry keeps the
		// client's Prometheus collectors out of the process-global one (two
		// clients in one collector would otherwise collide).
		MetricsRegisterer: prometheus.NewRegistry(),
	}
	var tlsConf *tls.Config
	if strings.HasPrefix(c.ServiceURL, "pulsar+ssl://") {
		var err error
		tlsConf, err = c.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return opts, fmt.Errorf("tls: loading certificates: %w", err)
		}
		opts.TLSConfig = tlsConf
		opts.TLSValidateHostname = !c.TLS.InsecureSkipVerify
		opts.TLSAllowInsecureConnection = c.TLS.InsecureSkipVerify
	}
	auth, err := c.Auth.authentication(tlsConf)
	if err != nil {
		return opts, err
	}
	opts.Authentication = auth
	return opts, nil
}

func (a *AuthConfig) authentication(tlsConf *tls.Config) (pulsar.Authentication, error) {
	switch {
	case a.Token != "":
		token := string(a.Token)
		return pulsar.NewAuthenticationTokenFromSupplier(func() (string, error) { return token, nil }), nil
	case a.TokenFile != "":
		return pulsar.NewAuthenticationTokenFromFile(a.TokenFile), nil
	case a.TLSClientCertificate:
		// The certificate already goes into the handshake through the TLS
		// config (reloaded by configtls); the provider tells the broker to take
		// the identity from it.
		if tlsConf == nil {
			return nil, errors.New("auth.tls_client_certificate: needs a pulsar+ssl:// service_url")
		}
		return pulsar.NewAuthenticationFromTLSCertSupplier(func() (*tls.Certificate, error) {
			if tlsConf.GetClientCertificate != nil {
				return tlsConf.GetClientCertificate(&tls.CertificateRequestInfo{})
			}
			if len(tlsConf.Certificates) == 0 {
				return nil, errors.New("auth.tls_client_certificate: no client certificate loaded from tls.cert_file")
			}
			return &tlsConf.Certificates[0], nil
		}), nil
	case a.OAuth2 != nil:
		return a.OAuth2.authentication()
	}
	return nil, nil
}

func (o *OAuth2Config) authentication() (pulsar.Authentication, error) {
	keyFile := o.CredentialsFile
	if keyFile == "" {
		b, err := json.Marshal(map[string]string{
			"type":          "client_credentials",
			"client_id":     o.ClientID,
			"client_secret": string(o.ClientSecret),
			"issuer_url":    o.IssuerURL,
		})
		if err != nil {
			return nil, fmt.Errorf("auth.oauth2: %w", err)
		}
		keyFile = "data://" + string(b)
	}
	params := map[string]string{
		"type":       "client_credentials",
		"issuerUrl":  o.IssuerURL,
		"audience":   o.Audience,
		"privateKey": keyFile,
		"clientId":   o.ClientID,
	}
	if o.Scope != "" {
		params["scope"] = o.Scope
	}
	return pulsar.NewAuthenticationOAuth2(params), nil
}
