package alertpolicy

import (
	"reflect"
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		op      watchstate.MatchOp
		value   string
		wantErr bool
	}{
		{"service.name=checkout", "service.name", "=", "checkout", false},
		{"team != payments", "team", "!=", "payments", false},
		{`cloud.region=~"eu-.*"`, "cloud.region", "=~", "eu-.*", false},
		{"severity!~info|warning", "severity", "!~", "info|warning", false},
		{"novalue", "", "", "", true},
		{"=x", "", "", "", true},
		{"a=~(", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseMatcher(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && (m.Name != tt.name || m.Op != tt.op || m.Value != tt.value) {
				t.Fatalf("got %+v", m)
			}
		})
	}
}

func TestRouteMatchAndInheritance(t *testing.T) {
	root := &Route{
		Receiver: "default", GroupBy: []string{"service.name"}, GroupWait: dur(10 * time.Second),
		Routes: []*Route{
			{Receiver: "payments", Matchers: []watchstate.Matcher{mustMatcher(t, "team=payments")}, Continue: true,
				RepeatInterval: dur(time.Hour)},
			{Receiver: "eu", Matchers: []watchstate.Matcher{mustMatcher(t, "cloud.region=~eu-.*")}, GroupBy: []string{"..."},
				Routes: []*Route{{Receiver: "eu-critical", Matchers: []watchstate.Matcher{mustMatcher(t, "severity=critical")}}}},
			{Receiver: "never", Matchers: []watchstate.Matcher{mustMatcher(t, "team=payments")}},
		},
	}
	if err := root.Compile("route"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"no child matches", map[string]string{"team": "search"}, []string{"default"}},
		{"continue then next sibling", map[string]string{"team": "payments", "cloud.region": "eu-west-1"}, []string{"payments", "eu"}},
		{"continue then fall to later sibling", map[string]string{"team": "payments"}, []string{"payments", "never"}},
		{"nested", map[string]string{"cloud.region": "eu-west-1", "severity": "critical"}, []string{"eu-critical"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range root.Match(tt.labels) {
				got = append(got, r.Receiver)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	pay := root.Routes[0]
	if w, i, r := pay.Timing(); w != 10*time.Second || i != DefaultGroupInterval || r != time.Hour {
		t.Fatalf("payments timing %s %s %s", w, i, r)
	}
	euc := root.Routes[1].Routes[0]
	if !euc.groupByAll || euc.Key() != "/1/0" {
		t.Fatalf("eu-critical: groupByAll=%v key=%s", euc.groupByAll, euc.Key())
	}
	if w, _, r := root.Timing(); w != 10*time.Second || r != DefaultRepeatInterval {
		t.Fatalf("root timing %s %s", w, r)
	}
}

func TestRouteCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		r    *Route
		want string
	}{
		{"no receiver", &Route{}, "route::receiver: the root route needs a receiver"},
		{"negative wait", &Route{Receiver: "x", GroupWait: dur(-1)}, "route::group_wait must not be negative"},
		{"zero interval", &Route{Receiver: "x", GroupInterval: dur(0)}, "route::group_interval must be positive"},
		{"mixed group_by", &Route{Receiver: "x", GroupBy: []string{"...", "a"}}, `route::group_by: "..." must be the only entry`},
		{"child", &Route{Receiver: "x", Routes: []*Route{{RepeatInterval: dur(0)}}}, "route::routes[0]::repeat_interval must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Compile("route")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGroupKeyIsStableAndSorted(t *testing.T) {
	r := &Route{Receiver: "x", GroupBy: []string{"b", "a"}}
	if err := r.Compile("route"); err != nil {
		t.Fatal(err)
	}
	got := groupKey(r, r.groupLabels(map[string]string{"a": "1", "b": "2", "c": "3"}))
	if got != `/:{a="1",b="2"}` {
		t.Fatalf("got %s", got)
	}
}
