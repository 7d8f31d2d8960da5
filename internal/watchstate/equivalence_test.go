package watchstate

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The push path was made allocation-light (hand-inlined FNV-1a, strconv
// instead of fmt, label field names built only on error). These tests pin the
// new code to the straightforward implementations it replaced.

func refFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func refBody(a Alert) string {
	return fmt.Sprintf("%s: %s (expected %s, score %.2f)", a.Series, formatSecondsFmt(a.Value), formatSecondsFmt(a.Expected), a.Score)
}

func TestFingerprintMatchesHashFNV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := []map[string]string{nil, {}, {"": ""}, {"a": "1", "b": "2"}, {"é": "ü\xff", "k": strings.Repeat("v", 300)}}
	for range 500 {
		m := map[string]string{}
		for range rng.IntN(40) { // beyond the 16 keys kept on the stack
			m[strconv.Itoa(rng.IntN(1000))] = strconv.FormatUint(rng.Uint64(), 36)
		}
		sets = append(sets, m)
	}
	for _, m := range sets {
		require.Equal(t, refFingerprint(m), Fingerprint(m), "%v", m)
	}
	for _, s := range []string{"", "a", "{}:{team=\"payments\"}", strings.Repeat("x", 1000)} {
		h := fnv.New64a()
		h.Write([]byte(s))
		assert.Equal(t, hex.EncodeToString(h.Sum(nil)), Hex64(FNV64a(s)), "%q", s)
	}
}

func TestFormatSecondsMatchesFmt(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1e-9, 0.00085, 0.0009994, 0.0009995, 0.00099999, 0.001, 0.0123, 0.2, 0.99995, 0.999951,
		1, 1.2, 1.42, 1.005, 1.995, 12, 1e21, 1e300, math.SmallestNonzeroFloat64, math.MaxFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1)}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		v := math.Pow(10, rng.Float64()*12-8)
		if rng.IntN(4) == 0 {
			v = -v
		}
		vals = append(vals, v, math.Round(v*1000)/1000)
	}
	for _, v := range vals {
		require.Equal(t, formatSecondsFmt(v), FormatSeconds(v), "%v", v)
		a := Alert{Series: "svc p99", Value: v, Expected: v / 3, Score: v}
		require.Equal(t, refBody(a), pushBody(a.Series, a.Value, a.Expected, a.Score), "%v", v)
	}
}

func TestPushTitleMatchesFmt(t *testing.T) {
	for _, sev := range []Severity{SeverityInfo, SeverityWarning, SeverityCritical} {
		a := Alert{Severity: sev, State: AlertFiring, Series: "s", Labels: map[string]string{}}
		assert.Equal(t, fmt.Sprintf("%s latency %s", strings.ToUpper(string(sev)), AlertFiring), NewPushPayload(a, false).APS.Alert.Title)
	}
}

func TestLabelErrorsNameTheLabel(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		field  string
		msg    string
	}{
		{map[string]string{"ok": "v", "bad": "a\nb"}, "labels.bad", "contains control characters"},
		{map[string]string{"long": strings.Repeat("v", MaxTextLen+1)}, "labels.long", fmt.Sprintf("is longer than %d bytes", MaxTextLen)},
		{map[string]string{"": "v"}, "labels", fmt.Sprintf("label names must be 1..%d bytes", maxLabelNameLen)},
		{map[string]string{"tab": "a\tb", "max": strings.Repeat("v", MaxTextLen)}, "", ""},
	} {
		err := validateLabels("labels", tc.labels)
		if tc.field == "" {
			assert.NoError(t, err)
			continue
		}
		var ve *ValidationError
		require.True(t, errors.As(err, &ve), "%v", err)
		assert.Equal(t, tc.field, ve.Field)
		assert.Equal(t, tc.msg, ve.Message)
	}
}

func TestNumberErrorsNameTheField(t *testing.T) {
	a := firing(map[string]string{"team": "t"}, t0)
	a.Expected = math.NaN()
	var ve *ValidationError
	require.True(t, errors.As(a.Validate(), &ve))
	assert.Equal(t, "expected", ve.Field)
	s := StatusEntry{Series: "s", Service: "svc", State: StatusOK, Value: math.Inf(1)}
	require.True(t, errors.As(s.Validate(), &ve))
	assert.Equal(t, "value", ve.Field)
}

// UpsertAlert and UpsertStatus hand the caller back its own labels map rather
// than a second copy; the board's stored copy must stay independent of both.
func TestUpsertKeepsItsOwnLabels(t *testing.T) {
	b, _ := newTestBoard(t)
	ctx := context.Background()
	in := map[string]string{"service.name": "checkout", "team": "payments"}
	a := firing(in, t0)
	got, err := b.UpsertAlert(ctx, a)
	require.NoError(t, err)
	got.Labels["team"] = "changed-via-result"
	in["service.name"] = "changed-via-input"
	stored, err := b.GetAlert(a.ID)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"service.name": "checkout", "team": "payments"}, stored.Labels)

	sin := map[string]string{"k": "v"}
	st, err := b.UpsertStatus(ctx, StatusEntry{Series: "s", Service: "svc", Labels: sin, State: StatusWarning})
	require.NoError(t, err)
	st.Labels["k"] = "changed-via-result"
	sin["k2"] = "added-via-input"
	require.Len(t, b.Status(), 1)
	assert.Equal(t, map[string]string{"k": "v"}, b.Status()[0].Labels)

	st, err = b.UpsertStatus(ctx, StatusEntry{Series: "nil-labels", Service: "svc", State: StatusOK})
	require.NoError(t, err)
	assert.NotNil(t, st.Labels)
	al, err := b.UpsertAlert(ctx, firing(nil, t0))
	require.NoError(t, err)
	assert.NotNil(t, al.Labels)
}

// With a subscriber, the event's labels are a copy: the producer may reuse
// its map while the API streams the event.
func TestUpsertAlertEventLabelsAreACopy(t *testing.T) {
	b, _ := newTestBoard(t)
	events, cancel := b.Subscribe(4)
	defer cancel()
	in := map[string]string{"service.name": "checkout", "team": "payments"}
	got, err := b.UpsertAlert(context.Background(), firing(in, t0))
	require.NoError(t, err)
	in["team"] = "changed"
	e := <-events
	assert.Equal(t, "payments", e.Alert.Labels["team"])
	assert.Equal(t, "payments", got.Labels["team"])
}

func TestIDAndControlChecksMatchTheOldOnes(t *testing.T) {
	idRE := regexp.MustCompile(`^[A-Za-z0-9._:\-]+$`)
	oldControl := func(v string) bool {
		return strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' })
	}
	inputs := []string{"", "a", "0123456789abcdef", "a.b_c:d-e", "a b", "a/b", "é", "a\n", "\t", "\x00", "\xff", "\xc0\x80", "\xe2\x80\xa8", "-", "[", "`", "{", "@", "~"}
	for c := range 256 {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		require.Equal(t, idRE.MatchString(in), idChars(in), "%q", in)
		require.Equal(t, oldControl(in), hasControl(in), "%q", in)
	}
}

func TestPushTitleConstants(t *testing.T) {
	for _, sev := range []Severity{SeverityInfo, SeverityWarning, SeverityCritical, "other", ""} {
		for _, st := range []AlertState{AlertFiring, AlertResolved, "x"} {
			assert.Equal(t, fmt.Sprintf("%s latency %s", strings.ToUpper(string(sev)), st), pushTitle(sev, st))
		}
	}
}
