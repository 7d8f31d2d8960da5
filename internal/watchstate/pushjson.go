package watchstate

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendPushJSON appends exactly what json.Marshal(p) produces, without
// reflection (Encode runs for every push). It reports false when p holds
// something it does not spell itself — a sound of another type, a non-finite
// number, a year outside 0..9999, a time not in UTC — and the caller uses json.Marshal, which
// also produces json.Marshal's error for those. TestPushJSONMatchesMarshal
// compares the two byte for byte.
func appendPushJSON(b []byte, p *PushPayload) ([]byte, bool) {
	a, lw := &p.APS, &p.LW
	if !finite(a.RelevanceScore) || !finite(lw.Value) || !finite(lw.Expected) || !finite(lw.Score) {
		return b, false
	}
	if y := lw.Since.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, offset := lw.Since.Zone(); offset != 0 {
		return b, false // payloads carry UTC; leave other zones to json.Marshal
	}
	b = append(b, `{"aps":{"alert":{"title":`...)
	b = appendJSONString(b, a.Alert.Title)
	if a.Alert.Subtitle != "" {
		b = append(b, `,"subtitle":`...)
		b = appendJSONString(b, a.Alert.Subtitle)
	}
	b = append(b, `,"body":`...)
	b = appendJSONString(b, a.Alert.Body)
	b = append(b, '}')
	switch s := a.Sound.(type) {
	case nil:
	case string:
		b = append(b, `,"sound":`...)
		b = appendJSONString(b, s)
	case CriticalSound:
		if !finite(s.Volume) {
			return b, false
		}
		b = append(b, `,"sound":{"critical":`...)
		b = strconv.AppendInt(b, int64(s.Critical), 10)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Name)
		b = append(b, `,"volume":`...)
		b = appendJSONFloat(b, s.Volume)
		b = append(b, '}')
	default:
		return b, false
	}
	b = append(b, `,"interruption-level":`...)
	b = appendJSONString(b, a.InterruptionLevel)
	b = append(b, `,"relevance-score":`...)
	b = appendJSONFloat(b, a.RelevanceScore)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, a.Category)
	b = append(b, `,"thread-id":`...)
	b = appendJSONString(b, a.ThreadID)
	b = append(b, `},"lw":{"alert_id":`...)
	b = appendJSONString(b, lw.AlertID)
	b = append(b, `,"group_key":`...)
	b = appendJSONString(b, lw.GroupKey)
	b = append(b, `,"series":`...)
	b = appendJSONString(b, lw.Series)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(lw.State))
	b = append(b, `,"severity":`...)
	b = appendJSONString(b, string(lw.Severity))
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, lw.Value)
	b = append(b, `,"expected":`...)
	b = appendJSONFloat(b, lw.Expected)
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, lw.Score)
	if lw.Region != "" {
		b = append(b, `,"region":`...)
		b = appendJSONString(b, lw.Region)
	}
	if lw.Team != "" {
		b = append(b, `,"team":`...)
		b = appendJSONString(b, lw.Team)
	}
	b = append(b, `,"since":"`...)
	b = lw.Since.AppendFormat(b, time.RFC3339Nano) // time.Time.MarshalJSON for years 0..9999
	b = append(b, '"')
	if lw.Link != "" {
		b = append(b, `,"link":`...)
		b = appendJSONString(b, lw.Link)
	}
	return append(b, "}}"...), true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// appendJSONFloat is encoding/json's float64 encoding of a finite v: the
// shortest representation, in exponent form below 1e-6 and from 1e21, with
// a one-digit negative exponent written without its leading zero.
func appendJSONFloat(b []byte, v float64) []byte {
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString is encoding/json's string encoding with HTML escaping (the
// json.Marshal default): <, > and & as \u003c \u003e \u0026, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD, control characters as
// \b \f \n \r \t or \u00XX.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// marshalPush is json.Marshal(p), reflection-free for the payloads the
// exporter builds.
func marshalPush(p *PushPayload) ([]byte, error) {
	if b, ok := appendPushJSON(make([]byte, 0, 1024), p); ok {
		return b, nil
	}
	return json.Marshal(*p) // a copy: p itself stays on the caller's stack
}
