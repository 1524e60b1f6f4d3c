package awstest

import (
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
	f := newFront(endpoint)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != target || n.Add(1) != 1 {
			f.ServeHTTP(w, r)
			return
		}
		if _, _, status, err := f.forward(r); err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answered after the call was applied"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n.Load
}
