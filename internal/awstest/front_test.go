package awstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFrontAnswersWithResponsesReadWhole: the front forwards a request as
// sent (method, path, query, body, headers), answers with the upstream's
// status, headers and body, keeps a HEAD response's length, and turns a
// response it cannot read whole into a 502, which the SDK retries.
func TestFrontAnswersWithResponsesReadWhole(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cut":
			// Promise 100 bytes, send 10, close: what a client reading
			// the body sees as a connection that went away.
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789")
			buf.Flush()
			conn.Close()
		case "/object":
			w.Header().Set("Content-Length", "1234")
			w.Header().Set("ETag", `"abc"`)
			if r.Method != http.MethodHead {
				w.Write([]byte(strings.Repeat("x", 1234)))
			}
		default:
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Amz-Target-Seen", r.Header.Get("X-Amz-Target"))
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusTeapot)
			w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(body)))
		}
	}))
	defer upstream.Close()
	u, stop, err := startFront(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("front at %s, want loopback", u)
	}

	req, _ := http.NewRequest(http.MethodPost, u+"/a/b?x=1&y=2", strings.NewReader(`{"k":"v"}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || string(body) != `POST /a/b?x=1&y=2 {"k":"v"}` ||
		resp.Header.Get("X-Amz-Target-Seen") != "DynamoDB_20120810.GetItem" || resp.Close {
		t.Errorf("forwarded: %d %q, headers %v, close %v", resp.StatusCode, body, resp.Header, resp.Close)
	}

	resp, err = http.Head(u + "/object")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 1234 || resp.Header.Get("ETag") != `"abc"` {
		t.Errorf("HEAD: %d, length %d, headers %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}

	resp, err = http.Get(u + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "read response") {
		t.Errorf("cut response: %d %q, want 502 naming the read", resp.StatusCode, body)
	}
}
