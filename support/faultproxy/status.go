package faultproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Status answers the request itself, without forwarding, with the status code and a metav1.Status
// body such as kube-apiserver sends, so client-go turns it into the same typed error
// (apierrors.IsTooManyRequests, SuggestsClientDelay, ...) a real failure would produce.
//
// For 429 and 5xx a positive RetryAfter is sent both as the Retry-After header (whole seconds,
// rounded up) and as details.retryAfterSeconds, as the apiserver's priority and fairness does.
type Status struct {
	Code       int
	RetryAfter time.Duration
	// Reason overrides the reason derived from Code (see reasonFor).
	Reason metav1.StatusReason
	// Message overrides the default message, which says the error was injected.
	Message string
}

// String names the action in rule names, hits and the request log.
func (s Status) String() string {
	out := "status " + strconv.Itoa(s.Code)
	if s.retryAfterSeconds() > 0 {
		out += " retry-after " + strconv.Itoa(int(s.retryAfterSeconds())) + "s"
	}
	return out
}

func (s Status) validate() error {
	if s.Code < 400 || s.Code > 599 {
		return fmt.Errorf("status code %d is not an error (400-599)", s.Code)
	}
	if s.RetryAfter < 0 {
		return errors.New("status RetryAfter must not be negative")
	}
	return nil
}

func (s Status) retryAfterSeconds() int32 {
	if s.RetryAfter <= 0 || (s.Code != http.StatusTooManyRequests && s.Code < 500) {
		return 0
	}
	return int32((s.RetryAfter + time.Second - 1) / time.Second)
}

// reasons maps codes to the reasons kube-apiserver and client-go use for them. 502 has no reason
// in Kubernetes: it stays StatusReasonUnknown, and the gateway must classify it by code.
var reasons = map[int]metav1.StatusReason{
	http.StatusBadRequest:            metav1.StatusReasonBadRequest,
	http.StatusUnauthorized:          metav1.StatusReasonUnauthorized,
	http.StatusForbidden:             metav1.StatusReasonForbidden,
	http.StatusNotFound:              metav1.StatusReasonNotFound,
	http.StatusMethodNotAllowed:      metav1.StatusReasonMethodNotAllowed,
	http.StatusNotAcceptable:         metav1.StatusReasonNotAcceptable,
	http.StatusConflict:              metav1.StatusReasonConflict,
	http.StatusGone:                  metav1.StatusReasonGone,
	http.StatusRequestEntityTooLarge: metav1.StatusReasonRequestEntityTooLarge,
	http.StatusUnsupportedMediaType:  metav1.StatusReasonUnsupportedMediaType,
	http.StatusUnprocessableEntity:   metav1.StatusReasonInvalid,
	http.StatusTooManyRequests:       metav1.StatusReasonTooManyRequests,
	http.StatusInternalServerError:   metav1.StatusReasonInternalError,
	http.StatusBadGateway:            metav1.StatusReasonUnknown,
	http.StatusServiceUnavailable:    metav1.StatusReasonServiceUnavailable,
	http.StatusGatewayTimeout:        metav1.StatusReasonTimeout,
}

func (s Status) serve(x *exchange) error {
	writeStatus(x.w, s.body(x.info), s.retryAfterSeconds())
	return nil
}

func (s Status) body(info RequestInfo) metav1.Status {
	reason := s.Reason
	if reason == "" {
		reason = reasons[s.Code]
	}
	msg := s.Message
	if msg == "" {
		msg = fmt.Sprintf("injected by the contract suite's fault proxy: %d %s for %s %s",
			s.Code, http.StatusText(s.Code), info.Verb, info.Path)
	}
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Code:     int32(s.Code),
	}
	if info.Resource != "" || info.Name != "" || s.retryAfterSeconds() > 0 {
		st.Details = &metav1.StatusDetails{
			Name:              info.Name,
			Group:             info.Group,
			Kind:              info.Resource, // the apiserver puts the resource here too
			RetryAfterSeconds: s.retryAfterSeconds(),
		}
	}
	return st
}

func writeStatus(w http.ResponseWriter, st metav1.Status, retryAfter int32) {
	body, err := json.Marshal(st)
	if err != nil { // cannot happen for metav1.Status; keep the code and say so
		body = []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"faultproxy: encode status"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, private")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(retryAfter)))
	}
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(body)
}
