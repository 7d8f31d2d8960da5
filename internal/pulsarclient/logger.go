package pulsarclient

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar/log"
	"go.uber.org/zap"
)

// handshakeFailurePrefix is how pulsar-client-go logs a broker that answered
// the CONNECT command with an error. The client then only returns a bare
// "connection error", so the logger keeps the broker's message to explain it.
const handshakeFailurePrefix = "Failed to establish connection with broker: "

// Logger adapts zap to pulsar-client-go's logger. The client's Info lines
// (connections opened, producers created) go to Debug: at collector level
// they are noise. It also remembers the last handshake rejection.
type Logger struct {
	z     *zap.Logger
	state *handshakeState
}

type handshakeState struct {
	mu    sync.Mutex // guards the fields below
	msg   string
	when  time.Time
	count int64
}

var _ log.Logger = (*Logger)(nil)

// NewLogger wraps z (nil means no logging).
func NewLogger(z *zap.Logger) *Logger {
	if z == nil {
		z = zap.NewNop()
	}
	return &Logger{z: z.WithOptions(zap.AddCallerSkip(1)), state: &handshakeState{}}
}

// LastHandshakeRejection returns the broker's message for the most recent
// rejected handshake that happened after since, or "".
func (l *Logger) LastHandshakeRejection(since time.Time) string {
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	if l.state.when.Before(since) {
		return ""
	}
	return l.state.msg
}

// HandshakeRejections counts the rejected handshakes seen so far (each is
// one connection attempt the broker refused).
func (l *Logger) HandshakeRejections() int64 {
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	return l.state.count
}

func (l *Logger) observe(msg string) {
	if rest, ok := strings.CutPrefix(msg, handshakeFailurePrefix); ok {
		l.state.mu.Lock()
		l.state.msg = strings.Trim(rest, "'")
		l.state.when = time.Now()
		l.state.count++
		l.state.mu.Unlock()
	}
}

func (l *Logger) with(fields log.Fields) *zap.Logger {
	zf := make([]zap.Field, 0, len(fields))
	for k, v := range fields {
		zf = append(zf, zap.Any(k, v))
	}
	return l.z.With(zf...)
}

// SubLogger implements log.Logger.
func (l *Logger) SubLogger(fields log.Fields) log.Logger {
	return &Logger{z: l.with(fields), state: l.state}
}

// WithFields implements log.Logger.
func (l *Logger) WithFields(fields log.Fields) log.Entry { return l.SubLogger(fields).(*Logger) }

// WithField implements log.Logger.
func (l *Logger) WithField(name string, value any) log.Entry {
	return &Logger{z: l.z.With(zap.Any(name, value)), state: l.state}
}

// WithError implements log.Logger.
func (l *Logger) WithError(err error) log.Entry {
	return &Logger{z: l.z.With(zap.Error(err)), state: l.state}
}

// Debug implements log.Logger.
func (l *Logger) Debug(args ...any) { l.z.Debug(fmt.Sprint(args...)) }

// Info implements log.Logger.
func (l *Logger) Info(args ...any) { l.z.Debug(fmt.Sprint(args...)) }

// Warn implements log.Logger.
func (l *Logger) Warn(args ...any) { l.warn(fmt.Sprint(args...)) }

// Error implements log.Logger.
func (l *Logger) Error(args ...any) { l.z.Error(fmt.Sprint(args...)) }

// Debugf implements log.Logger.
func (l *Logger) Debugf(format string, args ...any) {
	if l.z.Core().Enabled(zap.DebugLevel) {
		l.z.Debug(fmt.Sprintf(format, args...))
	}
}

// Infof implements log.Logger.
func (l *Logger) Infof(format string, args ...any) { l.Debugf(format, args...) }

// Warnf implements log.Logger.
func (l *Logger) Warnf(format string, args ...any) { l.warn(fmt.Sprintf(format, args...)) }

// Errorf implements log.Logger.
func (l *Logger) Errorf(format string, args ...any) { l.z.Error(fmt.Sprintf(format, args...)) }

func (l *Logger) warn(msg string) {
	l.observe(msg)
	l.z.Warn(msg)
}
