package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
)

var serveCommand = command{name: "serve", synopsis: "[--listen ADDR]",
	about: "The custom runtime (custom.debian12 with bootstrap): the handler behind HTTP, POST /invoke with\n" +
		"FC's x-fc-* headers, for instance concurrency. Configured from the environment like the function."}

// runServe is the custom-runtime front door: the same handler behind HTTP.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(serveCommand, stderr)
	port := os.Getenv("FC_CUSTOM_LISTEN_PORT")
	if port == "" {
		port = "9000"
	}
	// FC health-checks 0.0.0.0: a server on 127.0.0.1 is never reached.
	listen := fs.String("listen", net.JoinHostPort("0.0.0.0", port), "address to listen on")
	pos, code, ok := parse(serveCommand, fs, args, stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0:
		return usageError(stderr, serveCommand, "serve takes no arguments, got %q", pos)
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	log := newLogger(os.Stdout, cfg.LogLevel)
	h, err := newHandler(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	srv := &http.Server{Handler: customRuntime(h, log), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("custom runtime listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	return exitOK
}

// customRuntime answers FC's custom-runtime contract: POST /invoke with the
// event as the body and the invocation's facts in x-fc-* headers; success is
// 200, a function error is reported with x-fc-status: 404.
func customRuntime(h *invoke.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invoke", func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panic", "requestId", r.Header.Get("x-fc-request-id"), "panic", fmt.Sprint(p))
				writeError(w, "panic", fmt.Sprint(p), nil)
			}
		}()
		// One byte past MAX_PAYLOAD_BYTES is enough for Handle to refuse the
		// payload unread, as it does under go1; the rest is never read.
		payload, err := io.ReadAll(io.LimitReader(r.Body, int64(h.MaxPayloadBytes)+1))
		if err != nil {
			writeError(w, "PayloadError", "cannot read the event body: "+err.Error(), nil)
			return
		}
		ctx, cancel := invocationContext(r)
		defer cancel()
		rep, err := h.Handle(ctx, headerEnv(r.Header), payload)
		if err != nil {
			writeError(w, fmt.Sprintf("%T", err), err.Error(), rep)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rep)
	})
	// Lifecycle hooks: nothing to set up or tear down, but they must answer.
	mux.HandleFunc("POST /initialize", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /pre-stop", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func writeError(w http.ResponseWriter, typ, msg string, rep any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-fc-status", "404")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorType": typ, "errorMessage": msg, "report": rep})
}

// invocationContext ends at the invocation's deadline: x-fc-function-deadline
// (epoch ms) when sent, else x-fc-function-timeout seconds from now.
func invocationContext(r *http.Request) (context.Context, context.CancelFunc) {
	if ms, err := strconv.ParseInt(r.Header.Get("x-fc-function-deadline"), 10, 64); err == nil && ms > 0 {
		return context.WithDeadline(r.Context(), time.UnixMilli(ms))
	}
	if s, err := strconv.Atoi(r.Header.Get("x-fc-function-timeout")); err == nil && s > 0 {
		return context.WithTimeout(r.Context(), time.Duration(s)*time.Second)
	}
	return context.WithCancel(r.Context())
}

// headerEnv takes the invocation's facts from FC's x-fc-* headers. The
// credentials are set even when the headers carry none, as in fcEnv.
func headerEnv(h http.Header) invoke.Env {
	return invoke.Env{
		RequestID: h.Get("x-fc-request-id"),
		Region:    h.Get("x-fc-region"),
		Credentials: &credential.Credentials{AccessKeyID: h.Get("x-fc-access-key-id"),
			AccessKeySecret: h.Get("x-fc-access-key-secret"), SecurityToken: h.Get("x-fc-security-token")},
	}
}
