package watchapiextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/extension/watchapiextension/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// defaultCurvePreferences puts the post-quantum hybrid first; classic curves
// stay for clients (older watchOS, curl builds) that do not offer it.
var defaultCurvePreferences = []string{"X25519MLKEM768", "X25519", "P256", "P384"}

const sweepInterval = time.Minute

type watchAPI struct {
	cfg *Config
	set extension.Settings
	// now and newID are replaced by tests for deterministic output;
	// streamWriteTimeout to test idle streams quickly.
	now                func() time.Time
	newID              func() (string, error)
	streamWriteTimeout time.Duration

	mu        sync.Mutex // protects the fields below across Start/Shutdown
	board     *watchstate.Board
	server    *http.Server
	listener  net.Listener
	store     storage.Client
	telemetry *metadata.TelemetryBuilder
	stop      chan struct{}
	wg        sync.WaitGroup
	shutdown  bool
}

var (
	_ extension.Extension      = (*watchAPI)(nil)
	_ watchstate.BoardProvider = (*watchAPI)(nil)
)

func newWatchAPI(cfg *Config, set extension.Settings) *watchAPI {
	return &watchAPI{cfg: cfg, set: set, now: time.Now, streamWriteTimeout: defaultStreamWriteTimeout}
}

// AlertBoard returns the board for the apns exporter; nil before Start.
func (w *watchAPI) AlertBoard() watchstate.AlertBoard {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.board == nil {
		return nil
	}
	return w.board
}

// Addr is the listening address once started (tests use port 0).
func (w *watchAPI) Addr() net.Addr {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.listener == nil {
		return nil
	}
	return w.listener.Addr()
}

func (w *watchAPI) Start(ctx context.Context, host component.Host) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shutdown {
		return errors.New("watch_api: cannot start after shutdown")
	}
	cfg := w.cfg
	logger := w.set.Logger
	if !cfg.Auth.HasValue() {
		if !cfg.InsecureAllowUnauthenticated {
			return errors.New("watch_api: refusing to start without auth (set auth::authenticator, or insecure_allow_unauthenticated: true for local use)")
		}
		logger.Warn("WATCH API IS UNAUTHENTICATED: anyone who can reach " + cfg.NetAddr.Endpoint +
			" can read on-call alerts, register devices and acknowledge or silence alerts. " +
			"insecure_allow_unauthenticated is for local development only.")
	}

	board := watchstate.NewBoard(watchstate.Options{
		MaxDevices: cfg.Limits.MaxDevices, MaxSilences: cfg.Limits.MaxSilences,
		MaxAlerts: cfg.Limits.MaxAlerts, MaxStatusEntries: cfg.Limits.MaxStatusEntries,
		ResolvedRetention: cfg.ResolvedRetention, Now: w.now, NewID: w.newID,
	})
	if cfg.Storage != nil {
		client, err := storageClient(ctx, host, *cfg.Storage, w.set.ID)
		if err != nil {
			return err
		}
		if err := board.Load(ctx, client); err != nil {
			_ = client.Close(ctx)
			return fmt.Errorf("watch_api: restoring state from storage %q: %w", cfg.Storage.String(), err)
		}
		w.store = client
	} else {
		logger.Warn("watch_api has no storage extension: devices, silences and acknowledgements are lost on restart (set storage: file_storage)")
	}

	tb, err := metadata.NewTelemetryBuilder(w.set.TelemetrySettings,
		func() int64 { return int64(board.Counts().Devices) },
		func() int64 { return int64(board.Counts().FiringAlerts) })
	if err != nil {
		w.closeStore(ctx)
		return fmt.Errorf("watch_api: creating telemetry: %w", err)
	}

	sc := cfg.ServerConfig
	if sc.TLS.HasValue() {
		tlsCfg := *sc.TLS.Get()
		if len(tlsCfg.CurvePreferences) == 0 {
			tlsCfg.CurvePreferences = defaultCurvePreferences
		}
		sc.TLS = configoptional.Some(tlsCfg)
	}
	// Auth is applied by the extension so that /health and /openapi.yaml stay public.
	var authn extensionauth.Server
	var authParams []string
	if sc.Auth.HasValue() {
		ac := sc.Auth.Get()
		authn, err = ac.Config.GetServerAuthenticator(ctx, host.GetExtensions())
		if err != nil {
			tb.Shutdown()
			w.closeStore(ctx)
			return fmt.Errorf("watch_api: auth: %w", err)
		}
		authParams = ac.RequestParameters
		sc.Auth = configoptional.None[confighttp.AuthConfig]()
	}

	stop := make(chan struct{})
	bodyLimit := sc.MaxRequestBodySize
	if bodyLimit <= 0 {
		bodyLimit = defaultMaxRequestBodySize
	}
	a := &api{
		board: board, now: w.now, bodyLimit: bodyLimit, ingest: cfg.Ingest.Enabled, version: w.set.BuildInfo.Version,
		stream: &streamer{
			board: board, heartbeat: cfg.Stream.Heartbeat, buffer: cfg.Stream.Buffer, max: int64(cfg.Stream.MaxClients), stop: stop,
			writeTimeout: w.streamWriteTimeout,
			onOpen:       func() { tb.LatencywatchWatchAPIStreamClients.Add(context.Background(), 1) },
			onClose:      func() { tb.LatencywatchWatchAPIStreamClients.Add(context.Background(), -1) },
		},
	}
	a.authenticated = func(r *http.Request) bool {
		if authn == nil {
			return true
		}
		_, err := authn.Authenticate(r.Context(), authSources(r, authParams))
		return err == nil
	}
	handler := w.handler(a, authn, authParams, tb)

	ln, err := sc.ToListener(ctx)
	if err != nil {
		tb.Shutdown()
		w.closeStore(ctx)
		return fmt.Errorf("watch_api: listening on %s: %w", sc.NetAddr.Endpoint, err)
	}
	srv, err := sc.ToServer(ctx, host.GetExtensions(), w.set.TelemetrySettings, handler)
	if err != nil {
		_ = ln.Close()
		tb.Shutdown()
		w.closeStore(ctx)
		return fmt.Errorf("watch_api: creating server: %w", err)
	}
	w.board, w.server, w.listener, w.telemetry, w.stop = board, srv, ln, tb, stop

	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(fmt.Errorf("watch_api server: %w", err)))
		}
	}()
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(sweepInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := board.Sweep(context.Background()); err != nil {
					logger.Warn("watch_api: housekeeping could not save state", zap.Error(err))
				}
			case <-stop:
				return
			}
		}
	}()
	logger.Info("watch_api listening", zap.String("address", ln.Addr().String()),
		zap.Bool("tls", sc.TLS.HasValue()), zap.Bool("auth", authn != nil), zap.Bool("ingest", cfg.Ingest.Enabled))
	return nil
}

// handler assembles: rate limit → (public routes | auth → /v1 routes).
func (w *watchAPI) handler(a *api, authn extensionauth.Server, authParams []string, tb *metadata.TelemetryBuilder) http.Handler {
	var v1 http.Handler = a.routes()
	if authn != nil {
		v1 = authMiddleware(v1, authn, authParams, func() { tb.LatencywatchWatchAPIAuthFailure.Add(context.Background(), 1) })
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /health", a.health)
	root.HandleFunc("GET /openapi.yaml", a.openAPI)
	root.Handle("/v1/", v1)
	root.HandleFunc("/", notFound)
	limiter := newClientLimiter(w.cfg.RateLimit, time.Now)
	return limiter.middleware(root, func() { tb.LatencywatchWatchAPIRateLimited.Add(context.Background(), 1) })
}

// authMiddleware asks the configured authenticator about every request. Its
// error text is not echoed: it may describe the credential.
func authMiddleware(next http.Handler, authn extensionauth.Server, params []string, failed func()) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx, err := authn.Authenticate(r.Context(), authSources(r, params))
		if err != nil {
			failed()
			rw.Header().Set("WWW-Authenticate", `Bearer realm="latencywatch"`)
			writeError(rw, http.StatusUnauthorized, "unauthorized", "", "missing or invalid credentials")
			return
		}
		next.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// authSources is what the authenticator sees: the headers plus the configured
// request parameters from the query string (as confighttp does).
func authSources(r *http.Request, params []string) map[string][]string {
	sources := r.Header.Clone()
	q := r.URL.Query()
	for _, p := range params {
		if v, ok := q[p]; ok {
			sources[p] = v
		}
	}
	return sources
}

func storageClient(ctx context.Context, host component.Host, storageID, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("watch_api: storage: extension %q is not configured", storageID.String())
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("watch_api: storage: extension %q is not a storage extension", storageID.String())
	}
	client, err := se.GetClient(ctx, component.KindExtension, self, "")
	if err != nil {
		return nil, fmt.Errorf("watch_api: storage: getting a client from %q: %w", storageID.String(), err)
	}
	return client, nil
}

func (w *watchAPI) closeStore(ctx context.Context) {
	if w.store != nil {
		_ = w.store.Close(ctx)
		w.store = nil
	}
}

// Shutdown stops the server, ends open streams and closes storage. It is
// idempotent and safe before Start.
func (w *watchAPI) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shutdown {
		return nil
	}
	w.shutdown = true
	var errs []error
	if w.stop != nil {
		close(w.stop)
	}
	if w.board != nil {
		w.board.CloseSubscribers()
	}
	if w.server != nil {
		if err := w.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("watch_api: stopping server: %w", err))
		}
	}
	w.wg.Wait()
	if w.store != nil {
		if err := w.store.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("watch_api: closing storage: %w", err))
		}
		w.store = nil
	}
	if w.telemetry != nil {
		w.telemetry.Shutdown()
	}
	return errors.Join(errs...)
}
