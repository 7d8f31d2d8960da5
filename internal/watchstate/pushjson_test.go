package watchstate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// marshalPush must produce json.Marshal's bytes (and its errors) for every
// payload: the watch app decodes the same golden fixtures.
func TestPushJSONMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"", "a", "checkout p99", "é", "日本", "<script>&amp;</script>", "\"quoted\"", `back\slash`,
		"\x00\x01\x1f", "\b\f\n\r\t", "\u2028\u2029", "\xff\xfe", "\xe2\x80", "…", "😀", "\x7f", "{}:{team=\"payments\"}",
		"https://grafana.example/d/x?var-service=a&var-region=b"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(5) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 0.97, 1.2, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.23e21, 1e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.125, 0.1 + 0.2}
	num := func() float64 {
		if rng.IntN(3) == 0 {
			return math.Float64frombits(rng.Uint64())
		}
		return floats[rng.IntN(len(floats))]
	}
	sounds := []any{nil, "default", "", "a<b", CriticalSound{Critical: 1, Name: "default", Volume: 1}, CriticalSound{Name: "x&y", Volume: 0.25},
		CriticalSound{Volume: math.NaN()}, 42, map[string]int{"a": 1}}
	times := []time.Time{t0, {}, t0.Add(123456789 * time.Nanosecond), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		t0.In(time.FixedZone("x", 3600)), t0.In(time.FixedZone("y", 25*3600)), t0.In(time.FixedZone("z", 0))}
	payloads := []PushPayload{
		NewPushPayload(firing(map[string]string{"service.name": "checkout", "team": "payments", "cloud.region": "eu-west-1"}, t0), true),
		NewPushPayload(firing(map[string]string{"service.name": "checkout"}, t0), false),
		{APS: APS{RelevanceScore: math.Inf(1)}},
		{LW: PushAlert{Value: math.NaN()}},
	}
	for range 20000 {
		payloads = append(payloads, PushPayload{
			APS: APS{
				Alert: APSAlert{Title: str(), Subtitle: str(), Body: str()}, Sound: sounds[rng.IntN(len(sounds))],
				InterruptionLevel: str(), RelevanceScore: num(), Category: str(), ThreadID: str(),
			},
			LW: PushAlert{
				AlertID: str(), GroupKey: str(), Series: str(), State: AlertState(str()), Severity: Severity(str()),
				Value: num(), Expected: num(), Score: num(), Region: str(), Team: str(), Since: times[rng.IntN(len(times))], Link: str(),
			},
		})
	}
	fast := 0
	for i := range payloads {
		p := &payloads[i]
		want, wantErr := json.Marshal(*p)
		got, gotErr := marshalPush(p)
		if wantErr != nil {
			require.Error(t, gotErr, "payload %d", i)
			assert.Equal(t, wantErr.Error(), gotErr.Error(), "payload %d", i)
			continue
		}
		require.NoError(t, gotErr, "payload %d", i)
		require.Equal(t, string(want), string(got), "payload %d: %+v", i, *p)
		if _, ok := appendPushJSON(nil, p); ok {
			fast++
		}
	}
	assert.Greater(t, fast, len(payloads)/4, "most payloads must take the reflection-free path")
}

func FuzzPushJSONMatchesMarshal(f *testing.F) {
	f.Add("CRITICAL latency firing", "checkout p99: 1.2s", "<&>", 0.97, 1.2, int64(0))
	f.Add("\u2028", "\xff", "\x00", 1e-7, 1e21, int64(1e18))
	f.Fuzz(func(t *testing.T, title, body, link string, score, value float64, nanos int64) {
		p := NewPushPayload(Alert{Series: body, Severity: SeverityWarning, State: AlertFiring, Score: score, Value: value,
			Labels: map[string]string{"team": title}, Since: time.Unix(0, nanos), Link: link, GroupKey: title}, false)
		p.APS.Alert.Title = title
		want, wantErr := json.Marshal(p)
		got, gotErr := marshalPush(&p)
		if wantErr != nil {
			require.Error(t, gotErr)
			return
		}
		require.NoError(t, gotErr)
		require.Equal(t, string(want), string(got))
	})
}
