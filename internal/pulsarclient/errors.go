package pulsarclient

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// Class says what a caller should do with a failed Pulsar operation.
type Class int

const (
	// Retryable failures (broker down, timeouts, reconnects) go away by
	// trying again after the usual back-off.
	Retryable Class = iota
	// Throttled failures ask the caller to wait at least Verdict.RetryAfter
	// (quota exceeded, queues full, credentials rejected).
	Throttled
	// Permanent failures repeat for the same data (malformed or oversized
	// message, invalid topic); retrying would only block the pipeline.
	Permanent
)

func (c Class) String() string {
	switch c {
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	default:
		return "retryable"
	}
}

// ThrottleDelay is how long a caller waits after the broker pushed back.
const ThrottleDelay = time.Second

// AuthRetryDelay is how long a caller waits after the broker rejected the
// credentials: long enough that a wrong token causes no retry storm, short
// enough that a rotated token file is picked up soon. Credentials are never
// treated as permanent, because a persistent queue would then drop data
// during a token rotation.
const AuthRetryDelay = 30 * time.Second

// Verdict is the classification of one error.
type Verdict struct {
	Class Class
	// Reason is a short, low-cardinality label for telemetry
	// ("timeout", "connection", "auth", "too_large", …).
	Reason string
	// RetryAfter is set for Throttled verdicts.
	RetryAfter time.Duration
}

// Classify is the one place that maps pulsar-client-go errors to a verdict.
// Exporters turn the verdict into consumererror / exporterhelper errors; the
// receiver uses it for its dead-letter producer and subscribe retries.
func Classify(err error) Verdict {
	if err == nil {
		return Verdict{Class: Retryable, Reason: "none"}
	}
	if errors.Is(err, ErrAuthRejected) {
		return Verdict{Class: Throttled, Reason: "auth", RetryAfter: AuthRetryDelay}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Verdict{Class: Retryable, Reason: "timeout"}
	}
	if errors.Is(err, context.Canceled) {
		return Verdict{Class: Retryable, Reason: "canceled"}
	}
	var perr *pulsar.Error
	if errors.As(err, &perr) {
		return classifyResult(perr.Result())
	}
	// Errors that lost their type inside the client carry the result name.
	msg := err.Error()
	for _, r := range []struct {
		text   string
		result pulsar.Result
	}{
		{"AuthenticationError", pulsar.AuthenticationError},
		{"AuthorizationError", pulsar.AuthorizationError},
		{"TopicTerminated", pulsar.TopicTerminated},
		{"InvalidTopicName", pulsar.InvalidTopicName},
		{"ProducerBlockedQuotaExceeded", pulsar.ProducerBlockedQuotaExceededException},
		{"TooManyRequests", pulsar.TooManyLookupRequestException},
	} {
		if strings.Contains(msg, r.text) {
			return classifyResult(r.result)
		}
	}
	if strings.Contains(msg, "connection") || strings.Contains(msg, "connect") {
		return Verdict{Class: Retryable, Reason: "connection"}
	}
	return Verdict{Class: Retryable, Reason: "unknown"}
}

func classifyResult(r pulsar.Result) Verdict {
	switch r {
	case pulsar.AuthenticationError, pulsar.AuthorizationError, pulsar.ErrorGettingAuthenticationData:
		return Verdict{Class: Throttled, Reason: "auth", RetryAfter: AuthRetryDelay}
	case pulsar.ProducerBlockedQuotaExceededError, pulsar.ProducerBlockedQuotaExceededException:
		return Verdict{Class: Throttled, Reason: "quota", RetryAfter: ThrottleDelay}
	case pulsar.ProducerQueueIsFull, pulsar.ClientMemoryBufferIsFull:
		return Verdict{Class: Throttled, Reason: "queue_full", RetryAfter: ThrottleDelay}
	case pulsar.TooManyLookupRequestException, pulsar.MaxConcurrentOperationsReached:
		return Verdict{Class: Throttled, Reason: "throttled", RetryAfter: ThrottleDelay}
	case pulsar.MessageTooBig:
		return Verdict{Class: Permanent, Reason: "too_large"}
	case pulsar.InvalidMessage, pulsar.SchemaFailure, pulsar.CryptoError:
		return Verdict{Class: Permanent, Reason: "invalid_message"}
	case pulsar.InvalidTopicName, pulsar.TopicTerminated:
		return Verdict{Class: Permanent, Reason: "topic"}
	case pulsar.InvalidConfiguration, pulsar.InvalidURL, pulsar.OperationNotSupported,
		pulsar.UnsupportedVersionError, pulsar.InvalidBatchBuilderType:
		return Verdict{Class: Permanent, Reason: "config"}
	case pulsar.TimeoutError:
		return Verdict{Class: Retryable, Reason: "timeout"}
	case pulsar.ConnectError, pulsar.ReadError, pulsar.NotConnectedError, pulsar.LookupError,
		pulsar.ServiceUnitNotReady:
		return Verdict{Class: Retryable, Reason: "connection"}
	case pulsar.AlreadyClosedError, pulsar.ProducerClosed, pulsar.ConsumerClosed, pulsar.ProducerFenced,
		pulsar.ProducerNotInitialized, pulsar.ConsumerNotInitialized:
		return Verdict{Class: Retryable, Reason: "closed"}
	case pulsar.TopicNotFound:
		// With auto-creation off the topic may be created by an operator.
		return Verdict{Class: Throttled, Reason: "topic_not_found", RetryAfter: ThrottleDelay}
	case pulsar.BrokerMetadataError, pulsar.BrokerPersistenceError, pulsar.ChecksumError:
		return Verdict{Class: Retryable, Reason: "broker"}
	default:
		return Verdict{Class: Retryable, Reason: "unknown"}
	}
}

// ProducerGone reports whether err means the producer can no longer be used
// and must be created again.
func ProducerGone(err error) bool {
	var perr *pulsar.Error
	if !errors.As(err, &perr) {
		return false
	}
	switch perr.Result() {
	case pulsar.ProducerClosed, pulsar.AlreadyClosedError, pulsar.ProducerFenced, pulsar.TopicTerminated:
		return true
	}
	return false
}

// ErrAuthRejected marks an error as "the broker refused the connection
// handshake", which in practice means it rejected the credentials.
var ErrAuthRejected = errors.New("the broker rejected the connection handshake (authentication)")
