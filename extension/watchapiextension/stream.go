package watchapiextension

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// streamer serves GET /v1/events: alert changes as server-sent events.
type streamer struct {
	board     *watchstate.Board
	heartbeat time.Duration
	buffer    int
	max       int64
	// open counts streams; onOpen/onClose feed telemetry.
	open    atomic.Int64
	seq     atomic.Uint64
	onOpen  func()
	onClose func()
	// stop is closed on shutdown so streams end and the server can drain.
	stop <-chan struct{}
	// writeTimeout bounds each write (defaultStreamWriteTimeout; tests shorten it).
	writeTimeout time.Duration
}

const defaultStreamWriteTimeout = 10 * time.Second

func (s *streamer) serve(w http.ResponseWriter, r *http.Request) {
	snapshot, ok := parseBoolParam(w, r, "snapshot")
	if !ok {
		return
	}
	if s.open.Add(1) > s.max {
		s.open.Add(-1)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too_many_streams", "", "at most %d event streams may be open", s.max)
		return
	}
	defer s.open.Add(-1)
	s.onOpen()
	defer s.onClose()

	// Subscribe before the snapshot so no change between the two is lost.
	events, cancel := s.board.Subscribe(s.buffer)
	defer cancel()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(chunk string) bool {
		// Per-write deadline: a stream outlives the server's write_timeout, a stuck client does not.
		_ = rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: 5000\n: connected\n\n") {
		return
	}
	if snapshot != nil && *snapshot {
		for _, a := range s.board.ListAlerts(watchstate.AlertFilter{}) {
			if !write(s.format(watchstate.Event{Kind: watchstate.EventAlertUpdated, Alert: a, At: a.Updated})) {
				return
			}
		}
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, open := <-events:
			if !open {
				// Dropped for lagging (or shutdown): the client reconnects and re-reads.
				return
			}
			if !write(s.format(e)) {
				return
			}
		case <-tick.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
}

func (s *streamer) format(e watchstate.Event) string {
	data, err := json.Marshal(e)
	if err != nil {
		// Every field is a plain value; this cannot fail for a valid event.
		data = []byte(`{}`)
	}
	return "id: " + strconv.FormatUint(s.seq.Add(1), 10) + "\nevent: " + string(e.Kind) + "\ndata: " + string(data) + "\n\n"
}
