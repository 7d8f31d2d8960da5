package alertpolicy

import (
	"time"
)

// alertGroup is Alertmanager's aggregation group: the alerts of one route
// that share the group_by labels, flushed first after group_wait and then
// every group_interval.
type alertGroup struct {
	key    string
	route  *Route
	labels map[string]string
	alerts map[string]*Alert // by id; shared with Engine.alerts
	// nextFlush is when the group is evaluated next.
	nextFlush time.Time
	// flushed is true after the first evaluation (group_wait is over).
	flushed bool
	// deleted is set when the engine dropped the group (its queue entries are stale).
	deleted bool
	log     notifyLog
}

func newAlertGroup(key string, r *Route, labels map[string]string, now time.Time) *alertGroup {
	return &alertGroup{
		key: key, route: r, labels: labels, alerts: make(map[string]*Alert, 1),
		nextFlush: now.Add(r.wait),
	}
}

// add puts an alert in the group. Like Alertmanager, an alert that is older
// than group_wait makes a group that has not flushed yet flush at once; it
// reports whether the schedule moved.
func (g *alertGroup) add(a *Alert, now time.Time) bool {
	g.alerts[a.ID] = a
	if !g.flushed && !a.StartsAt.Add(g.route.wait).After(now) && g.nextFlush.After(now) {
		g.nextFlush = now
		return true
	}
	return false
}

// due reports whether the group should be evaluated at now.
func (g *alertGroup) due(now time.Time) bool { return !now.Before(g.nextFlush) }

// advance schedules the next evaluation group_interval after this one.
func (g *alertGroup) advance(now time.Time) {
	g.flushed = true
	g.nextFlush = now.Add(g.route.interval)
}
