package awstest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// AppliedThen500 returns the address of a proxy on 127.0.0.1 to endpoint
// that forwards every request, and answers the first whose X-Amz-Target is
// target (as "DynamoDB_20120810.PutItem"), once endpoint has applied it,
// with a 500 InternalServerError in the JSON protocol's shape: what a
// client sees when AWS applied a call but its answer failed. The SDK
// retries it. calls counts the requests to target.
func AppliedThen500(t testing.TB, endpoint, target string) (url string, calls func() int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, endpoint+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if r.Header.Get("X-Amz-Target") == target && n.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answered after the call was applied"}`))
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n.Load
}
