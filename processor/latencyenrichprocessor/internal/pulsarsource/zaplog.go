package pulsarsource

import (
	"fmt"

	"github.com/apache/pulsar-client-go/pulsar/log"
	"go.uber.org/zap"
)

// zapLogger routes pulsar-client-go's log lines to the collector's logger
// instead of logrus on stderr.
type zapLogger struct{ s *zap.SugaredLogger }

func newZapLogger(l *zap.Logger) log.Logger {
	if l == nil {
		l = zap.NewNop()
	}
	return zapLogger{s: l.Named("pulsar").Sugar()}
}

func fieldsToArgs(f log.Fields) []any {
	args := make([]any, 0, 2*len(f))
	for k, v := range f {
		args = append(args, k, v)
	}
	return args
}

func (z zapLogger) SubLogger(f log.Fields) log.Logger { return zapLogger{s: z.s.With(fieldsToArgs(f)...)} }
func (z zapLogger) WithFields(f log.Fields) log.Entry { return zapLogger{s: z.s.With(fieldsToArgs(f)...)} }
func (z zapLogger) WithField(name string, v any) log.Entry {
	return zapLogger{s: z.s.With(name, v)}
}
func (z zapLogger) WithError(err error) log.Entry { return zapLogger{s: z.s.With("error", err)} }
func (z zapLogger) Debug(args ...any)             { z.s.Debug(fmt.Sprint(args...)) }
func (z zapLogger) Info(args ...any)              { z.s.Debug(fmt.Sprint(args...)) } // the client is chatty at info
func (z zapLogger) Warn(args ...any)              { z.s.Warn(fmt.Sprint(args...)) }
func (z zapLogger) Error(args ...any)             { z.s.Error(fmt.Sprint(args...)) }
func (z zapLogger) Debugf(f string, args ...any)  { z.s.Debugf(f, args...) }
func (z zapLogger) Infof(f string, args ...any)   { z.s.Debugf(f, args...) }
func (z zapLogger) Warnf(f string, args ...any)   { z.s.Warnf(f, args...) }
func (z zapLogger) Errorf(f string, args ...any)  { z.s.Errorf(f, args...) }
