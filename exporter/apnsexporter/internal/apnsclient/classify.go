package apnsclient

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sideshow/apns2"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Kind is what the sender must do after an APNs answer.
type Kind int

const (
	// Sent: APNs accepted the notification.
	Sent Kind = iota
	// Retry: a transient failure (5xx, network, idle connection); retry with back-off.
	Retry
	// Throttled: 429; retry after at least ThrottleDelay.
	Throttled
	// RefreshToken: the provider token expired; make a new one and retry at once.
	RefreshToken
	// ForgetDevice: the token is dead for this topic (410, BadDeviceToken,
	// DeviceTokenNotForTopic); never send to it again.
	ForgetDevice
	// Permanent: the request or the credentials are wrong; retrying cannot help.
	Permanent
)

var kindNames = [...]string{"sent", "retry", "throttled", "refresh_token", "forget_device", "permanent"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ThrottleDelay is the least wait after a 429: Apple sends no Retry-After.
const ThrottleDelay = time.Second

// Verdict is the classified outcome of one push.
type Verdict struct {
	Kind   Kind
	Status int    // HTTP status, 0 for transport errors
	Reason string // Apple's reason string, "" when none
	// Err describes the failure; nil when Sent. It never contains key material.
	Err error
}

// Classify turns an apns2 answer into a Verdict. It is the ONE place where
// APNs status codes and reasons are interpreted.
func Classify(resp *apns2.Response, err error) Verdict {
	if err != nil {
		// Transport errors (dial, TLS, stream reset, timeout) are transient.
		return Verdict{Kind: Retry, Err: fmt.Errorf("apns request failed: %w", err)}
	}
	if resp == nil {
		return Verdict{Kind: Retry, Err: errors.New("apns request returned no response")}
	}
	v := Verdict{Status: resp.StatusCode, Reason: resp.Reason}
	if resp.StatusCode == http.StatusOK {
		v.Kind = Sent
		return v
	}
	v.Kind = kindOf(resp.StatusCode, resp.Reason)
	v.Err = fmt.Errorf("apns rejected the notification: %d %s (%s)", resp.StatusCode, reasonOrStatus(resp), v.Kind)
	return v
}

func kindOf(status int, reason string) Kind {
	switch reason {
	case apns2.ReasonUnregistered, apns2.ReasonExpiredToken, apns2.ReasonBadDeviceToken, apns2.ReasonDeviceTokenNotForTopic:
		return ForgetDevice
	case apns2.ReasonExpiredProviderToken:
		return RefreshToken
	case apns2.ReasonTooManyRequests, apns2.ReasonTooManyProviderTokenUpdates:
		return Throttled
	case apns2.ReasonIdleTimeout:
		return Retry
	}
	switch {
	case status == http.StatusGone:
		return ForgetDevice
	case status == http.StatusTooManyRequests:
		return Throttled
	case status >= 500:
		return Retry
	}
	// 400/403/404/405/413 with the remaining reasons (BadCollapseId, BadTopic,
	// MissingTopic, InvalidProviderToken, BadCertificate, PayloadTooLarge, …):
	// the request or the credentials are wrong.
	return Permanent
}

func reasonOrStatus(resp *apns2.Response) string {
	if resp.Reason != "" {
		return resp.Reason
	}
	return http.StatusText(resp.StatusCode)
}

// AsConsumerError expresses the verdict in the collector's error vocabulary:
// permanent, throttled retry, or plain (retryable). Sent returns nil.
func (v Verdict) AsConsumerError() error {
	switch v.Kind {
	case Sent:
		return nil
	case Throttled:
		return exporterhelper.NewThrottleRetry(v.Err, ThrottleDelay)
	case Permanent, ForgetDevice:
		return consumererror.NewPermanent(v.Err)
	}
	return v.Err
}
