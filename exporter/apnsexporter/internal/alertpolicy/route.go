package alertpolicy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Alertmanager's defaults.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// Route is a node of the routing tree. Zero durations and empty receiver /
// group_by inherit from the parent (the root falls back to the defaults).
type Route struct {
	Receiver string
	Matchers []watchstate.Matcher
	Continue bool
	// GroupBy lists the labels that split alerts into groups; "..." groups by
	// every label (one group per alert).
	GroupBy        []string
	GroupWait      *time.Duration
	GroupInterval  *time.Duration
	RepeatInterval *time.Duration
	Routes         []*Route

	// Set by Compile.
	key        string
	groupByAll bool
	groupBy    []string
	wait       time.Duration
	interval   time.Duration
	repeat     time.Duration
}

// Key identifies the route's position in the tree ("/", "/0", "/0/1").
func (r *Route) Key() string { return r.key }

// Timing returns the effective group_wait, group_interval and repeat_interval.
func (r *Route) Timing() (wait, interval, repeat time.Duration) { return r.wait, r.interval, r.repeat }

// Compile validates the tree, compiles matchers and resolves inheritance.
// path is used in error messages (e.g. "route").
func (r *Route) Compile(path string) error {
	if r.Receiver == "" {
		return fmt.Errorf("%s::receiver: the root route needs a receiver", path)
	}
	return r.compile(path, "/", nil)
}

func (r *Route) compile(path, key string, parent *Route) error {
	r.key = key
	for i := range r.Matchers {
		if err := r.Matchers[i].Compile(); err != nil {
			return fmt.Errorf("%s::matchers[%d]: %w", path, i, err)
		}
	}
	pick := func(own *time.Duration, inherited, def time.Duration, name string) (time.Duration, error) {
		switch {
		case own != nil && *own < 0:
			return 0, fmt.Errorf("%s::%s must not be negative", path, name)
		case own != nil:
			return *own, nil
		case parent != nil:
			return inherited, nil
		}
		return def, nil
	}
	var pw, pi, pr time.Duration
	if parent != nil {
		pw, pi, pr = parent.wait, parent.interval, parent.repeat
		if r.Receiver == "" {
			r.Receiver = parent.Receiver
		}
	}
	var err error
	if r.wait, err = pick(r.GroupWait, pw, DefaultGroupWait, "group_wait"); err != nil {
		return err
	}
	if r.interval, err = pick(r.GroupInterval, pi, DefaultGroupInterval, "group_interval"); err != nil {
		return err
	}
	if r.repeat, err = pick(r.RepeatInterval, pr, DefaultRepeatInterval, "repeat_interval"); err != nil {
		return err
	}
	if r.interval <= 0 {
		return fmt.Errorf("%s::group_interval must be positive", path)
	}
	if r.repeat <= 0 {
		return fmt.Errorf("%s::repeat_interval must be positive", path)
	}
	switch {
	case r.GroupBy != nil:
		r.groupBy, r.groupByAll = nil, false
		for _, l := range r.GroupBy {
			if l == "..." {
				r.groupByAll = true
				continue
			}
			r.groupBy = append(r.groupBy, l)
		}
		if r.groupByAll && len(r.groupBy) > 0 {
			return fmt.Errorf("%s::group_by: \"...\" must be the only entry", path)
		}
		sort.Strings(r.groupBy)
	case parent != nil:
		r.groupBy, r.groupByAll = parent.groupBy, parent.groupByAll
	}
	for i, c := range r.Routes {
		if err := c.compile(fmt.Sprintf("%s::routes[%d]", path, i), strings.TrimSuffix(key, "/")+"/"+strconv.Itoa(i), r); err != nil {
			return err
		}
	}
	return nil
}

func (r *Route) matches(labels map[string]string) bool {
	for i := range r.Matchers {
		if !r.Matchers[i].Matches(labels) {
			return false
		}
	}
	return true
}

// Match returns the routes an alert with these labels is handled by, as
// Alertmanager does: depth first, the first matching child wins unless it
// has continue: true; a route whose children all miss handles it itself.
func (r *Route) Match(labels map[string]string) []*Route {
	if !r.matches(labels) {
		return nil
	}
	var all []*Route
	for _, c := range r.Routes {
		m := c.Match(labels)
		all = append(all, m...)
		if len(m) > 0 && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// groupLabels are the labels of an alert that pick its group on route r.
func (r *Route) groupLabels(labels map[string]string) map[string]string {
	if r.groupByAll {
		return labels // alert labels are never modified: share them
	}
	out := make(map[string]string, len(r.groupBy))
	for _, k := range r.groupBy {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// groupKey is Alertmanager's "{route}:{label="value",…}" with sorted labels.
func groupKey(r *Route, gl map[string]string) string {
	var keysBuf [8]string
	keys := keysBuf[:0]
	size := len(r.key) + 3
	for k, v := range gl {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	var buf [256]byte // one allocation (the string) for the usual key
	b := buf[:0]
	if size+8 > len(buf) {
		b = make([]byte, 0, size+8)
	}
	b = append(b, r.key...)
	b = append(b, ":{"...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, gl[k])
	}
	b = append(b, '}')
	return string(b)
}

// ParseMatcher parses Alertmanager's matcher text: name=value, name!=value,
// name=~regex, name!~regex; the value may be double-quoted.
func ParseMatcher(s string) (watchstate.Matcher, error) {
	idx, op := -1, watchstate.MatchOp("")
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "=~"):
			idx, op = i, watchstate.MatchRegexp
		case strings.HasPrefix(s[i:], "!~"):
			idx, op = i, watchstate.MatchNotRegexp
		case strings.HasPrefix(s[i:], "!="):
			idx, op = i, watchstate.MatchNotEqual
		case s[i] == '=':
			idx, op = i, watchstate.MatchEqual
		}
		if idx >= 0 {
			break
		}
	}
	if idx <= 0 {
		return watchstate.Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", s)
	}
	name := strings.TrimSpace(s[:idx])
	value := strings.TrimSpace(s[idx+len(op):])
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		uq, err := strconv.Unquote(value)
		if err != nil {
			return watchstate.Matcher{}, fmt.Errorf("matcher %q: bad quoted value: %v", s, err)
		}
		value = uq
	}
	m := watchstate.Matcher{Name: name, Op: op, Value: value}
	if err := m.Compile(); err != nil {
		return watchstate.Matcher{}, err
	}
	return m, nil
}
