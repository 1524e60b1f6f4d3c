package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/jsonwalk"
)

// inputValue builds the Rego value of in directly, without a JSON round trip.
// The value equals ast.InterfaceToValue of in's JSON form: the same keys (the
// json tags), null for nil pointers and nil slices, numbers and strings as
// encoding/json writes them.
func inputValue(in *Input) (ast.Value, error) {
	fileSystem, err := fileSystemTerm(in.FileSystem)
	if err != nil {
		return nil, fmt.Errorf("file_system: %w", err)
	}
	key, err := keyTerm(in.Key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	event, err := eventTerm(in.Event)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return ast.NewObject(
		item("resource_type", sharedTerm(in.ResourceType)),
		item("resource", stringTerm(in.Resource)),
		item("file_system", fileSystem),
		item("key", key),
		item("file_systems", fileSystemsTerm(in.FileSystems)),
		item("trail", trailTerm(in.Trail)),
		item("watched", watchedTerm(in.Watched)),
		item("verification", verificationTerm(in.Verification)),
		item("event", event),
		item("config", configTerm(in.Config)),
	), nil
}

func trailTerm(t *TrailInput) *ast.Term {
	if t == nil {
		return ast.InternedNullTerm
	}
	return ast.ObjectTerm(
		item("arn", stringTerm(t.ARN)),
		item("name", stringTerm(t.Name)),
		item("account", sharedTerm(t.Account)),
		item("region", sharedTerm(t.Region)),
		item("home_region", stringTerm(t.HomeRegion)),
		item("known", ast.InternedTerm(t.Known)),
		item("logging", sharedTerm(t.Logging)),
		item("multi_region", boolPtrTerm(t.MultiRegion)),
		item("include_global_events", boolPtrTerm(t.IncludeGlobalEvents)),
		item("s3_bucket", stringTerm(t.S3Bucket)),
		item("baseline_multi_region", boolPtrTerm(t.BaselineMultiRegion)),
		item("baseline_s3_bucket", stringTerm(t.BaselineS3Bucket)),
		item("management_events", stringTerm(t.ManagementEvents)),
		item("excluded_sources", stringsTerm(t.ExcludedSources)),
		item("cloudwatch_logs_log_group", stringTerm(t.CloudWatchLogsLogGroup)),
		item("cloudwatch_logs_known", ast.InternedTerm(t.CloudWatchLogsKnown)),
		item("baseline_cloudwatch_logs_log_group", stringTerm(t.BaselineCloudWatchLogsLogGroup)),
		item("uncovered_regions", stringsTerm(t.UncoveredRegions)),
		item("deleted", ast.InternedTerm(t.Deleted)),
		item("integrity_failures", stringsTerm(t.IntegrityFailures)),
	)
}

func watchedTerm(w *WatchedInput) *ast.Term {
	if w == nil {
		return ast.InternedNullTerm
	}
	return ast.ObjectTerm(
		item("kind", sharedTerm(w.Kind)),
		item("arn", stringTerm(w.ARN)),
		item("name", stringTerm(w.Name)),
		item("account", sharedTerm(w.Account)),
		item("region", sharedTerm(w.Region)),
		item("event_bus", stringTerm(w.EventBus)),
		item("log_group", stringTerm(w.LogGroup)),
		item("state", sharedTerm(w.State)),
		item("removed_targets", stringsTerm(w.RemovedTargets)),
		item("retargeted", retargetedTerm(w.Retargeted)),
		item("pattern_known", ast.InternedTerm(w.PatternKnown)),
		item("pattern_error", stringTerm(w.PatternError)),
		item("dropped", droppedTerm(w.Dropped)),
		item("log_group_deleted", ast.InternedTerm(w.LogGroupDeleted)),
	)
}

func fileSystemsTerm(l []FileSystemRef) *ast.Term {
	if l == nil {
		return ast.InternedNullTerm
	}
	refs := make([]*ast.Term, len(l))
	for i, r := range l {
		refs[i] = ast.ObjectTerm(
			item("arn", stringTerm(r.ARN)),
			item("id", stringTerm(r.ID)),
			item("account", sharedTerm(r.Account)),
			item("region", sharedTerm(r.Region)),
			item("creator", stringTerm(r.Creator)),
		)
	}
	return ast.ArrayTerm(refs...)
}

func configTerm(c config.Config) *ast.Term {
	return ast.ObjectTerm(
		item("allowed_kms_key_arns", stringsTerm(c.AllowedKMSKeyARNs)),
		item("require_customer_managed_keys", ast.InternedTerm(c.RequireCustomerManagedKeys)),
		item("max_rotation_period_days", ast.InternedTerm(c.MaxRotationPeriodDays)),
		item("watched_trails", stringsTerm(c.WatchedTrails)),
		item("watched_event_rules", stringsTerm(c.WatchedEventRules)),
		item("watched_subscription_filters", stringsTerm(c.WatchedSubscriptionFilters)),
	)
}

func retargetedTerm(l []RetargetInput) *ast.Term {
	if l == nil {
		return ast.InternedNullTerm
	}
	terms := make([]*ast.Term, len(l))
	for i, r := range l {
		terms[i] = ast.ObjectTerm(
			item("id", stringTerm(r.ID)),
			item("arn", stringTerm(r.ARN)),
			item("expected", stringTerm(r.Expected)),
		)
	}
	return ast.ArrayTerm(terms...)
}

func droppedTerm(l []DroppedInput) *ast.Term {
	if l == nil {
		return ast.InternedNullTerm
	}
	terms := make([]*ast.Term, len(l))
	for i, d := range l {
		terms[i] = ast.ObjectTerm(
			item("source", stringTerm(d.Source)),
			item("event_names", stringsTerm(d.EventNames)),
			item("all", ast.InternedTerm(d.All)),
		)
	}
	return ast.ArrayTerm(terms...)
}

func fileSystemTerm(fs *FileSystemInput) (*ast.Term, error) {
	if fs == nil {
		return ast.InternedNullTerm, nil
	}
	policy, err := anyTerm(fs.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	relative, err := relativePolicyTerm(fs.PolicyRelative)
	if err != nil {
		return nil, fmt.Errorf("policy_relative: %w", err)
	}
	return ast.ObjectTerm(
		item("arn", stringTerm(fs.ARN)),
		item("id", stringTerm(fs.ID)),
		item("account", sharedTerm(fs.Account)),
		item("region", sharedTerm(fs.Region)),
		item("encrypted", ast.InternedTerm(fs.Encrypted)),
		item("known", ast.InternedTerm(fs.Known)),
		item("policy_known", ast.InternedTerm(fs.PolicyKnown)),
		item("kms_key_id", stringTerm(fs.KMSKeyID)),
		item("kms_key_arn", stringTerm(fs.KMSKeyARN)),
		item("creator", stringTerm(fs.Creator)),
		item("policy", policy),
		item("policy_relative", relative),
		item("deleted", ast.InternedTerm(fs.Deleted)),
	), nil
}

// relativePolicyTerm is a file system's RelativePolicy, null when it has
// none.
func relativePolicyTerm(r *RelativePolicy) (*ast.Term, error) {
	if r == nil {
		return ast.InternedNullTerm, nil
	}
	policy, err := anyTerm(r.Policy)
	if err != nil {
		return nil, err
	}
	return ast.ObjectTerm(item("policy", policy), item("resource", stringTerm(r.Resource))), nil
}

func keyTerm(k *KeyInput) (*ast.Term, error) {
	if k == nil {
		return ast.InternedNullTerm, nil
	}
	policy, err := anyTerm(k.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	rotation := ast.InternedNullTerm
	if k.RotationEnabled != nil {
		rotation = ast.InternedTerm(*k.RotationEnabled)
	}
	return ast.ObjectTerm(
		item("arn", stringTerm(k.ARN)),
		item("id", stringTerm(k.ID)),
		item("account", sharedTerm(k.Account)),
		item("region", sharedTerm(k.Region)),
		item("known", ast.InternedTerm(k.Known)),
		item("aliases", stringsTerm(k.Aliases)),
		item("key_spec", sharedTerm(k.KeySpec)),
		item("key_usage", sharedTerm(k.KeyUsage)),
		item("origin", sharedTerm(k.Origin)),
		item("key_manager", sharedTerm(k.KeyManager)),
		item("key_state", sharedTerm(k.KeyState)),
		item("custom_key_store_id", stringTerm(k.CustomKeyStoreID)),
		item("rotation_enabled", rotation),
		item("rotation_period_days", ast.InternedTerm(k.RotationPeriodDays)),
		item("policy", policy),
		item("grants", grantsTerm(k.Grants)),
		item("multi_region", boolPtrTerm(k.MultiRegion)),
		item("multi_region_key_type", sharedTerm(k.MultiRegionKeyType)),
		item("primary_key_arn", stringTerm(k.PrimaryKeyARN)),
		item("primary", primaryTerm(k.Primary)),
		item("deleted", ast.InternedTerm(k.Deleted)),
	), nil
}

func grantsTerm(l []GrantInput) *ast.Term {
	if l == nil {
		return ast.InternedNullTerm
	}
	terms := make([]*ast.Term, len(l))
	for i, g := range l {
		terms[i] = ast.ObjectTerm(
			item("grant_id", stringTerm(g.GrantID)),
			item("grantee_principal", stringTerm(g.GranteePrincipal)),
			item("operations", stringsTerm(g.Operations)),
			item("file_system_id", stringTerm(g.FileSystemID)),
			item("efs", ast.InternedTerm(g.EFS)),
			item("state", sharedTerm(g.State)),
			item("retired_after_delete", ast.InternedTerm(g.RetiredAfterDelete)),
		)
	}
	return ast.ArrayTerm(terms...)
}

func primaryTerm(p *PrimaryKeyInput) *ast.Term {
	if p == nil {
		return ast.InternedNullTerm
	}
	return ast.ObjectTerm(
		item("arn", stringTerm(p.ARN)),
		item("known", ast.InternedTerm(p.Known)),
		item("rotation_enabled", boolPtrTerm(p.RotationEnabled)),
		item("rotation_period_days", ast.InternedTerm(p.RotationPeriodDays)),
	)
}

func verificationTerm(v *VerificationInput) *ast.Term {
	if v == nil {
		return ast.InternedNullTerm
	}
	return ast.ObjectTerm(
		item("performed", ast.InternedTerm(v.Performed)),
		item("ok", ast.InternedTerm(v.OK)),
		item("reason", stringTerm(v.Reason)),
		item("step", stringTerm(v.Step)),
		item("detail", stringTerm(v.Detail)),
		item("algorithm_suite", stringTerm(v.AlgorithmSuite)),
	)
}

func eventTerm(ev *EventInput) (*ast.Term, error) {
	if ev == nil {
		return ast.InternedNullTerm, nil
	}
	// time.Time's JSON form is its text form, quoted; both refuse the same
	// out-of-range times.
	when, err := ev.EventTime.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("event_time: %w", err)
	}
	return ast.ObjectTerm(
		item("event_id", stringTerm(ev.EventID)),
		item("event_name", stringTerm(ev.EventName)),
		item("event_source", stringTerm(ev.EventSource)),
		item("event_time", ast.StringTerm(string(when))),
	), nil
}

// boolPtrTerm is null for a nil pointer, as encoding/json writes it.
func boolPtrTerm(b *bool) *ast.Term {
	if b == nil {
		return ast.InternedNullTerm
	}
	return ast.InternedTerm(*b)
}

func item(key string, value *ast.Term) [2]*ast.Term {
	return ast.Item(sharedTerm(key), value)
}

// stringTerm is s as encoding/json writes it: invalid UTF-8 bytes become
// U+FFFD, one for each byte. An empty string is OPA's interned term.
func stringTerm(s string) *ast.Term {
	if s == "" {
		return ast.InternedEmptyString
	}
	return ast.StringTerm(validUTF8(s))
}

// maxSharedTerms bounds how many different strings sharedTerm keeps a
// term for, whatever the input holds (about: concurrent callers may each
// add one past it).
const maxSharedTerms = 1024

// sharedTerms holds one term for each string sharedTerm has been given, up
// to maxSharedTerms strings; past that, each is made anew.
var sharedTerms struct {
	sync.Map // string -> *ast.Term
	n        atomic.Int32
}

// sharedTerm is stringTerm(s), one term for every input that holds s: for
// the input's field names (item) and for the fields that take few values
// (a key's state, spec, usage, origin or manager, a resource type, an
// account, a region).
func sharedTerm(s string) *ast.Term {
	if t, ok := sharedTerms.Load(s); ok {
		return t.(*ast.Term)
	}
	t := stringTerm(s)
	if sharedTerms.n.Load() < maxSharedTerms {
		if kept, loaded := sharedTerms.LoadOrStore(s, t); loaded {
			return kept.(*ast.Term)
		}
		sharedTerms.n.Add(1)
	}
	return t
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// stringsTerm is null for a nil slice, as encoding/json writes it.
func stringsTerm(ss []string) *ast.Term {
	if ss == nil {
		return ast.InternedNullTerm
	}
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = stringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

// errUnsupported marks a policy value encoding/json cannot write.
var errUnsupported = errors.New("unsupported value")

// anyTerm converts a document decoded by encoding/json (map[string]any,
// []any, string, float64, bool, nil). Other types are converted through
// their JSON form by ast.InterfaceToValue.
func anyTerm(x any) (*ast.Term, error) {
	switch v := x.(type) {
	case *Document:
		return v.term, nil
	case nil:
		return ast.InternedNullTerm, nil
	case bool:
		return ast.InternedTerm(v), nil
	case string:
		return stringTerm(v), nil
	case float64:
		n, err := jsonNumber(v)
		if err != nil {
			return nil, err
		}
		return ast.NewTerm(n), nil
	case []any:
		terms := make([]*ast.Term, len(v))
		for i, e := range v {
			t, err := anyTerm(e)
			if err != nil {
				return nil, err
			}
			terms[i] = t
		}
		return ast.ArrayTerm(terms...), nil
	case map[string]any:
		items := make([][2]*ast.Term, 0, len(v))
		for k, e := range v {
			t, err := anyTerm(e)
			if err != nil {
				return nil, err
			}
			items = append(items, ast.Item(stringTerm(k), t))
		}
		return ast.NewTerm(ast.NewObject(items...)), nil
	default:
		value, err := ast.InterfaceToValue(v)
		if err != nil {
			return nil, err
		}
		return ast.NewTerm(value), nil
	}
}

// jsonNumber formats f as encoding/json does (the ECMAScript number to
// string rules): plain decimal, or exponent form for magnitudes below 1e-6
// or from 1e21 on, with a minimal exponent.
func jsonNumber(f float64) (ast.Number, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("%w: %v", errUnsupported, f)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// e-07 becomes e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return ast.Number(b), nil
}

// Document is a policy document (a key or file-system policy) decoded by
// encoding/json, with its Rego value built once: a caller that keeps the
// documents it has parsed (a pipeline does, by text) hands the same
// Document to every evaluation, which then converts nothing. As an Input's
// Policy it converts and marshals as the document itself.
type Document struct {
	value any
	term  *ast.Term

	// The JSON form, written on first use: a pipeline hashes each input it
	// judges through its JSON form, and a document is in many inputs.
	once sync.Once
	text []byte
	err  error

	// sum identifies the document by the text it was parsed from
	// (NewDocumentText); summed is false for a document built from a value
	// alone.
	sum    [sha256.Size]byte
	summed bool
	// src is the text of a document ParseDocumentText built without value;
	// MarshalJSON decodes it when asked. A document built from a term alone
	// (a policy's relative form) has neither, and is written from its term.
	src string

	// rel is the document's relative form for the last resource asked
	// (relative.go).
	rel atomic.Pointer[relativeMemo]
}

// NewDocument builds the Rego value of v, a document decoded by
// encoding/json.
func NewDocument(v any) (*Document, error) {
	t, err := anyTerm(v)
	if err != nil {
		return nil, err
	}
	return &Document{value: v, term: t}, nil
}

// NewDocumentText is NewDocument for v parsed from text, which identifies
// the document (Sum): one text always parses to one value, so hashing the
// text stands for hashing the value, at a fraction of the cost.
func NewDocumentText(text string, v any) (*Document, error) {
	d, err := NewDocument(v)
	if err != nil {
		return nil, err
	}
	d.sumText(text)
	return d, nil
}

func (d *Document) sumText(text string) {
	h := sha256.New()
	h.Write([]byte("policy document text\x00"))
	h.Write([]byte(text))
	h.Sum(d.sum[:0])
	d.summed = true
}

// ParseDocumentText builds the document a JSON object's text holds
// straight into its Rego value: what decoding the text with json.Unmarshal
// into an any and NewDocumentText would build, without the decoded value
// in between. ok is false, with nothing built, when the text is not valid
// JSON and UTF-8, not an object, or holds what the walk leaves to
// encoding/json (a key with an escape or past ASCII, a number out of
// float64's range): the caller then decodes it the long way, which also
// says what is wrong.
func ParseDocumentText(text string) (d *Document, ok bool) {
	b := []byte(text)
	if !jsonwalk.Valid(b) || !utf8.Valid(b) {
		return nil, false
	}
	w := &jsonwalk.Walk{B: b}
	if w.Peek() != '{' {
		return nil, false
	}
	t, ok := textTerm(w)
	if !ok || !w.End() {
		return nil, false
	}
	d = &Document{term: t, src: text}
	d.sumText(text)
	return d, true
}

// textTerm reads the value next in w as anyTerm converts what
// json.Unmarshal decodes it to: the last of a repeated key, numbers as
// float64 written by jsonNumber.
func textTerm(w *jsonwalk.Walk) (*ast.Term, bool) {
	switch w.Peek() {
	case '{':
		// Insert keeps the last value of a repeated key, as decoding into
		// a map does (NewObject would keep both).
		obj := ast.NewObject()
		ok := w.Object(func(key []byte) bool {
			t, ok := textTerm(w)
			if ok {
				obj.Insert(ast.StringTerm(string(key)), t)
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		return ast.NewTerm(obj), true
	case '[':
		terms := []*ast.Term{}
		ok := w.Array(func() bool {
			t, ok := textTerm(w)
			terms = append(terms, t)
			return ok
		})
		if !ok {
			return nil, false
		}
		return ast.ArrayTerm(terms...), true
	case '"':
		s, ok := w.Text()
		if !ok {
			return nil, false
		}
		return ast.StringTerm(s), true
	}
	tok, ok := w.Value()
	if !ok {
		return nil, false
	}
	switch tok[0] {
	case 't', 'f', 'n':
		switch string(tok) {
		case "true":
			return ast.InternedTerm(true), true
		case "false":
			return ast.InternedTerm(false), true
		case "null":
			return ast.InternedNullTerm, true
		}
		return nil, false
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return nil, false
	}
	n, err := jsonNumber(f)
	if err != nil {
		return nil, false
	}
	return ast.NewTerm(n), true
}

// Sum is the hash of the text the document was parsed from, or for a
// policy's relative form, of its value text (valuetext.go); ok is false
// for a document built from a value alone. It is never the hash of another
// kind of text: each kind is hashed behind a prefix of its own.
func (d *Document) Sum() (sum [sha256.Size]byte, ok bool) { return d.sum, d.summed }

// TextSum is Sum of a policy value that is a Document; ok is false for
// any other value.
func TextSum(policyValue any) (sum [sha256.Size]byte, ok bool) {
	if d, isDoc := policyValue.(*Document); isDoc {
		return d.Sum()
	}
	return sum, false
}

// MarshalJSON writes the document; it is written once and copied.
func (d *Document) MarshalJSON() ([]byte, error) {
	d.once.Do(func() {
		v := d.value
		switch {
		case v == nil && d.src != "":
			if d.err = json.Unmarshal([]byte(d.src), &v); d.err != nil {
				return
			}
		case v == nil:
			if v, d.err = ast.JSON(d.term.Value); d.err != nil {
				return
			}
		}
		d.text, d.err = json.Marshal(v)
	})
	return bytes.Clone(d.text), d.err
}
