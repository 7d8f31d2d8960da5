package apnsclient

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/latencywatch/latencywatch/internal/apnstest"
)

// TestKeyMaterialNeverInErrors feeds broken and valid key material through
// every path that can fail and checks that no error text carries any of it.
func TestKeyMaterialNeverInErrors(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	keyPEM := s.AuthKeyPEM()
	block, _ := pem.Decode(keyPEM)
	keyB64 := base64.StdEncoding.EncodeToString(block.Bytes)
	secrets := []string{keyB64[10:40], string(keyPEM[30:60]), "s3cr3t-p4ss"}

	broken := strings.Replace(string(keyPEM), keyB64[20:30], "AAAAAAAAAA", 1)
	notPEM := keyB64
	certPEM, _ := s.ClientCertificatePEM()
	var errs []string
	for _, o := range []Options{
		{KeyFile: writeFile(t, "broken.p8", []byte(broken)), KeyID: "k", TeamID: "t"},
		{KeyFile: writeFile(t, "raw.p8", []byte(notPEM)), KeyID: "k", TeamID: "t"},
		{KeyFile: "/nonexistent/AuthKey.p8"},
		{CertFile: writeFile(t, "c.p12", keyPEM), CertPassword: "s3cr3t-p4ss"},
		{CertFile: writeFile(t, "c.pem", []byte(broken)), CertPassword: "s3cr3t-p4ss"},
		{CertFile: writeFile(t, "ok.pem", certPEM), CAFile: writeFile(t, "ca.pem", keyPEM)},
	} {
		_, err := New(o)
		if err == nil {
			t.Fatalf("New(%+v) accepted broken material", o.KeyFile+o.CertFile)
		}
		errs = append(errs, err.Error())
	}
	// A working client that gets rejected: the error must not carry the bearer.
	c := tokenClient(t, s)
	s.FailNext(apnstest.Failure{Status: 403, Reason: "InvalidProviderToken"})
	v := c.Send(context.Background(), note(apnstest.Token(1)))
	errs = append(errs, v.Err.Error())
	bearer := s.Requests()[0].Bearer
	secrets = append(secrets, bearer, bearer[len(bearer)-40:])
	for _, e := range errs {
		for _, sec := range secrets {
			if strings.Contains(e, sec) {
				t.Fatalf("error %q contains key material %q", e, sec)
			}
		}
	}
}
