package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// StatusIgnored is the result status of a signal that needed no RemediationRequest.
const StatusIgnored = "ignored"

// Response is the body of a successful signal request.
type Response struct {
	RequestID string   `json:"requestId"`
	Results   []Result `json:"results"`
}

// Result is the outcome of one signal of the request, in request order.
type Result struct {
	Index int `json:"index"`
	// Alertname is the alertname, or the event reason.
	Alertname   string `json:"alertname"`
	Status      string `json:"status"`
	Fingerprint string `json:"fingerprint"`
	// Namespace and Name locate the RemediationRequest; empty for ignored signals.
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	OccurrenceCount int32  `json:"occurrenceCount,omitempty"`
	// Reason says why a signal was ignored.
	Reason string `json:"reason,omitempty"`
}

type parseFunc func(body []byte, received time.Time) ([]signal.Signal, error)

func parseAlertmanager(body []byte, received time.Time) ([]signal.Signal, error) {
	return signal.ParseAlertmanager(body, received)
}

func parseEvent(body []byte, received time.Time) ([]signal.Signal, error) {
	s, err := signal.ParseEvent(body, received)
	if err != nil {
		return nil, err
	}
	return []signal.Signal{s}, nil
}

// signalHandler checks the caller and validates the request fully before any RemediationRequest
// API call, so a refused or rejected request writes nothing, then processes every signal of it and
// answers for the batch as a whole. The order of the checks (docs/design.md): 405 for the method;
// authentication (401), so that a caller without a token learns nothing about validation; the
// media type, size and payload (415, 413, 400); authorization in every namespace the batch writes
// to (403, all or nothing); then the writes.
func (s *Server) signalHandler(source string, parse parseFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reject := func(status int, slug, detail string) {
			s.opts.Metrics.Rejected.WithLabelValues(source, strconv.Itoa(status)).Inc()
			logging.FromContext(r.Context()).Info("request rejected", "status", status, "problem", slug, "detail", detail)
			writeProblem(w, r, status, slug, detail)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			reject(http.StatusMethodNotAllowed, SlugMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		// One deadline for all the API work of the request: the reviews and the writes. The work must
		// finish even when the client goes away or shutdown begins: a half-processed batch is only
		// safe because redelivery is idempotent, so do not make it common.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.opts.RequestDeadline)
		defer cancel()
		caller, err := s.opts.Auth.Authenticate(ctx, r)
		if err != nil {
			s.refuse(w, r, source, err)
			return
		}
		r = withSender(r, caller.GetName())
		ctx = logging.WithLogger(ctx, logging.FromContext(r.Context())) // the sender's logger
		signals, ok := s.readSignals(w, r, parse, reject)
		if !ok {
			return
		}
		if err := s.authorizeWritten(ctx, caller, s.opts.Auth.AuthorizeSignals(ctx, caller, s.namespaces(signals))); err != nil {
			s.refuse(w, r, source, err)
			return
		}
		for i := range signals {
			signals[i].Sender = caller.GetName()
		}
		s.opts.Metrics.Received.WithLabelValues(source).Add(float64(len(signals)))
		authorize := func(ctx context.Context, namespace string) error {
			return s.opts.Auth.AuthorizeSignals(ctx, caller, []string{namespace})
		}
		batch := s.processAll(ctx, source, signals, authorize)
		switch {
		case batch.transient != nil:
			w.Header().Set("Retry-After", retryAfterSeconds(s.opts.UnavailableRetryAfter))
			reject(http.StatusServiceUnavailable, SlugKubernetesUnavailable, batch.transient.Error())
		case batch.refused != nil:
			s.refuse(w, r, source, batch.refused)
		case batch.permanent != nil:
			reject(http.StatusInternalServerError, SlugKubernetesError, batch.permanent.Error())
		default:
			writeJSON(w, batchStatus(batch.results), Response{RequestID: requestIDFrom(r.Context()), Results: batch.results})
		}
	}
}

// rejectFunc answers a request with a problem and counts and logs the rejection.
type rejectFunc func(status int, slug, detail string)

// readSignals validates the payload of an authenticated request: its media type (415), its size
// (413) and its content (400). Whatever fails is answered through reject and the result is false:
// the request is refused whole, before any RemediationRequest API call, so a malformed batch
// writes nothing.
func (s *Server) readSignals(w http.ResponseWriter, r *http.Request, parse parseFunc, reject rejectFunc) ([]signal.Signal, bool) {
	if detail := checkJSONContentType(r.Header.Get("Content-Type")); detail != "" {
		reject(http.StatusUnsupportedMediaType, SlugUnsupportedMediaType, detail)
		return nil, false
	}
	body, err := s.readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reject(http.StatusRequestEntityTooLarge, SlugPayloadTooLarge,
				fmt.Sprintf("the body exceeds %d bytes", s.opts.MaxBodyBytes))
			return nil, false
		}
		reject(http.StatusBadRequest, SlugInvalidPayload, "could not read the body: "+err.Error())
		return nil, false
	}
	received := s.opts.Now()
	signals, err := parse(body, received)
	if err != nil {
		reject(http.StatusBadRequest, SlugInvalidPayload, err.Error())
		return nil, false
	}
	return signals, true
}

// refuse answers a caller the Guard refused, or could not check.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, source string, err error) {
	status, slug, detail := s.authProblem(w, err)
	s.opts.Metrics.Rejected.WithLabelValues(source, strconv.Itoa(status)).Inc()
	logAuthRefusal(r, status, slug, err)
	writeProblem(w, r, status, slug, detail)
}

// namespaces are those the request writes to: the namespace the Processor chooses for each signal
// that is not ignored (ignored signals write nothing, so they need no permission). A namespace the
// API later reports missing or terminating makes the Processor fall back to its fallback
// namespace, which it authorizes then, before writing there (see processAll).
func (s *Server) namespaces(signals []signal.Signal) []string {
	var out []string
	for i := range signals {
		if signals[i].IgnoreReason == "" {
			ns, _ := s.opts.Processor.Namespace(&signals[i])
			out = append(out, ns)
		}
	}
	return out
}

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// authorizeWritten applies the rule that the namespace authorized is the namespace written to a
// refusal err of the namespaces the signals name: a refused namespace that does not exist is not
// where the signal would be written (it goes to the fallback namespace), so the sender is
// authorized in the fallback namespace instead. A refused namespace that exists stays refused.
// Any other err, or an existence check that fails, is returned as it is.
func (s *Server) authorizeWritten(ctx context.Context, caller user.Info, err error) error {
	var forbidden *auth.ForbiddenError
	if err == nil || s.opts.NamespaceMissing == nil || !errors.As(err, &forbidden) || len(forbidden.Namespaces) == 0 {
		return err
	}
	var existing []string
	for _, ns := range forbidden.Namespaces {
		missing, merr := s.opts.NamespaceMissing(ctx, ns)
		if merr != nil {
			return err
		}
		if !missing {
			existing = append(existing, ns)
		}
	}
	if len(existing) > 0 {
		return &auth.ForbiddenError{User: forbidden.User, Namespaces: existing}
	}
	return s.opts.Auth.AuthorizeSignals(ctx, caller, []string{s.opts.FallbackNamespace})
}

// batchOutcome is the result of processing every signal of a request.
type batchOutcome struct {
	results []Result
	// transient and permanent are the first failure of each class, nil when none.
	transient, permanent error
	// refused is the first signal whose runtime fallback namespace the sender was refused (an
	// *auth.ForbiddenError) or could not be checked in (an *auth.UnavailableError); nil when none.
	refused error
}

// processAll handles every signal, even after one failed, so that as many as possible are persisted
// before the sender redelivers the batch. authorize checks the sender in a fallback namespace that
// processing chose at run time; a signal refused there is not persisted, and the batch answers
// as the refusal does (403, or 503 auth-unavailable), unless a transient failure makes it 503
// kubernetes-unavailable (a redelivery can then persist the others, and is refused again).
func (s *Server) processAll(ctx context.Context, source string, signals []signal.Signal, authorize remediation.Authorize) batchOutcome {
	results := make([]Result, 0, len(signals))
	var transientErr, permanentErr, refusedErr error
	for i := range signals {
		sig := &signals[i]
		log := logging.FromContext(ctx).With("namespace", sig.Namespace, "fingerprint", sig.Fingerprint)
		res := Result{Index: i, Alertname: sig.Name, Fingerprint: sig.Fingerprint}
		if sig.IgnoreReason != "" {
			res.Status, res.Reason = StatusIgnored, sig.IgnoreReason
			s.opts.Metrics.Ignored.WithLabelValues(source).Inc()
			log.Info("signal ignored", "alertname", sig.Name, "reason", sig.IgnoreReason)
			results = append(results, res)
			continue
		}
		out, err := s.opts.Processor.Process(logging.WithLogger(ctx, log), sig, authorize)
		if err != nil {
			err = fmt.Errorf("signal %d (%s): %w", i, sig.Name, err)
			if isAuthRefusal(err) {
				log.Info("signal not persisted: the sender is not authorized in the fallback namespace, or could not be checked",
					"alertname", sig.Name, "error", err.Error())
				if refusedErr == nil {
					refusedErr = err
				}
				continue
			}
			if kuberetry.IsUnavailable(err) || ctx.Err() != nil {
				s.opts.Metrics.APIErrors.WithLabelValues(metrics.ClassTransientExhausted).Inc()
				log.Warn("signal not persisted: kubernetes api unavailable", "alertname", sig.Name, "error", err.Error())
				if transientErr == nil {
					transientErr = err
				}
			} else {
				s.opts.Metrics.APIErrors.WithLabelValues(metrics.ClassPermanent).Inc()
				log.Error("signal not persisted: kubernetes api error", "alertname", sig.Name, "error", err.Error())
				if permanentErr == nil {
					permanentErr = err
				}
			}
			continue
		}
		res.Status, res.Namespace, res.Name, res.OccurrenceCount = out.Status, out.Namespace, out.Name, out.OccurrenceCount
		if out.Status == remediation.StatusCreated {
			s.opts.Metrics.Created.WithLabelValues(source).Inc()
		} else {
			s.opts.Metrics.Deduplicated.WithLabelValues(source).Inc()
		}
		if out.EarlierCreated > 0 {
			// An earlier request created the object but lost the answer (it was answered 503):
			// count the creation now, so that the counter matches the objects.
			s.opts.Metrics.Created.WithLabelValues(source).Add(float64(out.EarlierCreated))
			log.Info("earlier creation confirmed", "alertname", sig.Name, "rr_namespace", out.Namespace, "rr_name", out.Name)
		}
		log.Info("signal persisted", "alertname", sig.Name, "status", out.Status,
			"rr_namespace", out.Namespace, "rr_name", out.Name, "occurrence_count", out.OccurrenceCount)
		results = append(results, res)
	}
	return batchOutcome{results: results, transient: transientErr, permanent: permanentErr, refused: refusedErr}
}

// isAuthRefusal reports an error of the Guard: the sender refused (403) or not checked (503).
func isAuthRefusal(err error) bool {
	var forbidden *auth.ForbiddenError
	var unavailable *auth.UnavailableError
	return errors.As(err, &forbidden) || errors.As(err, &unavailable)
}

// batchStatus is 201 if any signal created an object, else 202 if any was a duplicate, else 200.
func batchStatus(results []Result) int {
	code := http.StatusOK
	for _, r := range results {
		switch r.Status {
		case remediation.StatusCreated:
			return http.StatusCreated
		case StatusIgnored:
		default:
			code = http.StatusAccepted
		}
	}
	return code
}

// readBody reads at most MaxBodyBytes; a declared or actual larger body gives *http.MaxBytesError.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: s.opts.MaxBodyBytes}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
}

// checkJSONContentType returns why the media type is refused, or "" for application/json with any
// parameters (such as charset).
func checkJSONContentType(header string) string {
	if header == "" {
		return "Content-Type is missing; send application/json"
	}
	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return fmt.Sprintf("Content-Type %q cannot be parsed; send application/json", header)
	}
	if mediaType != "application/json" {
		return fmt.Sprintf("Content-Type %q is not supported; send application/json", mediaType)
	}
	return ""
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
