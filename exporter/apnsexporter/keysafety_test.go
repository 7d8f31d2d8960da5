package apnsexporter

import (
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/latencywatch/latencywatch/internal/apnstest"
)

// TestKeyMaterialNeverInLogs runs every logging path (forget, permanent,
// retries exhausted, token refresh) at debug level and checks that neither
// the .p8 key nor a signed provider token appears in any log entry.
func TestKeyMaterialNeverInLogs(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	e := newEnv(t, func(c *Config) {
		c.APNs.Retry.MaxElapsedTime = 50 * time.Millisecond
	})
	e.logger = zap.New(core)
	e.start()
	e.register(1)
	bad := e.register(2)
	gone := e.register(3)
	e.srv.FailToken(bad, apnstest.Failure{Status: 400, Reason: "BadTopic"})
	e.srv.Unregister(gone)
	e.srv.FailNext(apnstest.Failure{Status: 403, Reason: "ExpiredProviderToken"}, apnstest.Failure{Status: 403, Reason: "InvalidProviderToken"})
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	e.srv.WaitFor(5*time.Second, func(r []apnstest.Request) bool { return len(r) >= 4 })
	require.Eventually(t, func() bool { return logs.Len() >= 2 }, 5*time.Second, 10*time.Millisecond)

	block, _ := pem.Decode(e.srv.AuthKeyPEM())
	keyB64 := base64.StdEncoding.EncodeToString(block.Bytes)
	secrets := []string{keyB64[:24], keyB64[40:64], strings.Split(string(e.srv.AuthKeyPEM()), "\n")[1]}
	for _, r := range e.srv.Requests() {
		if r.Bearer != "" {
			parts := strings.Split(r.Bearer, ".")
			secrets = append(secrets, r.Bearer, parts[2])
		}
	}
	for _, entry := range logs.All() {
		text := entry.Message
		for _, f := range entry.Context {
			text += " " + f.String
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok {
					text += " " + err.Error()
				}
			}
		}
		for _, s := range secrets {
			require.NotContains(t, text, s, "log entry %q leaks key material", entry.Message)
		}
		require.NotContains(t, text, "PRIVATE KEY")
	}
}
