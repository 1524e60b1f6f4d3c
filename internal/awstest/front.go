package awstest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// A test's client once failed reading a moto response whose status it
// already had: "deserialization failed, failed to decode response body,
// read tcp ...: use of closed network connection" (the SDK's issues 1825
// and 2737 report the same error from DynamoDB itself). What closed the
// connection was not found; moto's server (werkzeug's) ends every response
// with Connection: close. The SDK does not retry that error, since the
// request may have taken effect, so the test failed on a transport hiccup
// of the emulator.
//
// The tests therefore reach moto through a front on 127.0.0.1 that reads
// each request and moto's whole response before it answers: a response it
// could not read whole becomes a 502, which the SDK retries as it would
// AWS's, and a client talks to a Go server that keeps its connections.

// hopByHop are the headers of one connection, not forwarded.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

// front forwards each request to upstream and answers with the response
// read whole.
type front struct {
	upstream string // scheme://host:port
	client   *http.Client
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, data, status, err := f.forward(r)
	if err != nil {
		http.Error(w, "front: "+err.Error(), status)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopByHop {
		w.Header().Del(h)
	}
	if r.Method != http.MethodHead {
		// A HEAD response keeps the length of what a GET would return.
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
}

// forward sends r upstream and reads the response whole; on failure, the
// status to answer with.
func (f *front) forward(r *http.Request) (resp *http.Response, data []byte, status int, err error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, http.StatusBadRequest, fmt.Errorf("read request: %w", err)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, f.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, http.StatusBadRequest, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	out.Host = r.Host
	resp, err = f.client.Do(out)
	if err != nil {
		return nil, nil, http.StatusBadGateway, err
	}
	data, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, http.StatusBadGateway, fmt.Errorf("read response: %w", err)
	}
	return resp, data, 0, nil
}

func newFront(upstream string) *front {
	return &front{upstream: upstream, client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// startFront serves a front to upstream on a free loopback port and returns
// its URL and a function that stops it.
func startFront(upstream string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("front for %s: %w", upstream, err)
	}
	srv := &http.Server{Handler: newFront(upstream)}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}
