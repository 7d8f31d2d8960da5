package watchapiextension

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimiter is a token bucket per client address. It is bounded: when
// maxClients buckets exist, the longest-idle one is evicted.
type clientLimiter struct {
	rps        rate.Limit
	burst      int
	maxClients int
	now        func() time.Time

	mu      sync.Mutex // protects clients
	clients map[string]*clientBucket
}

type clientBucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func newClientLimiter(cfg RateLimitConfig, now func() time.Time) *clientLimiter {
	if cfg.RequestsPerSecond <= 0 {
		return nil
	}
	return &clientLimiter{
		rps: rate.Limit(cfg.RequestsPerSecond), burst: cfg.Burst, maxClients: cfg.MaxClients,
		now: now, clients: map[string]*clientBucket{},
	}
}

func (l *clientLimiter) allow(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= l.maxClients {
			l.evictLocked()
		}
		b = &clientBucket{lim: rate.NewLimiter(l.rps, l.burst)}
		l.clients[client] = b
	}
	b.lastSeen = now
	return b.lim.AllowN(now, 1)
}

// evictLocked removes buckets that are full again (idle long enough to have
// refilled), or else the longest-idle one.
func (l *clientLimiter) evictLocked() {
	refill := time.Duration(float64(l.burst) / float64(l.rps) * float64(time.Second))
	now := l.now()
	var oldestKey string
	var oldest time.Time
	for k, b := range l.clients {
		if now.Sub(b.lastSeen) > refill {
			delete(l.clients, k)
			continue
		}
		if oldestKey == "" || b.lastSeen.Before(oldest) {
			oldestKey, oldest = k, b.lastSeen
		}
	}
	if len(l.clients) >= l.maxClients && oldestKey != "" {
		delete(l.clients, oldestKey)
	}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// middleware answers 429 with Retry-After when a client exceeds its rate.
func (l *clientLimiter) middleware(next http.Handler, refused func()) http.Handler {
	if l == nil {
		return next
	}
	retryAfter := strconv.Itoa(int(math.Max(1, math.Ceil(1/float64(l.rps)))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.allow(clientAddr(r)) {
			refused()
			w.Header().Set("Retry-After", retryAfter)
			writeError(w, http.StatusTooManyRequests, "rate_limited", "", "too many requests from this client; retry after %ss", retryAfter)
			return
		}
		next.ServeHTTP(w, r)
	})
}
