package tenant

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP adapter maps each to a status; only EINTERNAL is logged
// with details, and its message is never shown to the caller.
const (
	EINVALID      = "invalid"                // 400
	EUNAUTHORIZED = "unauthorized"           // 401
	EQUOTA        = "quota_exceeded"         // 403
	EFORBIDDEN    = "forbidden"              // 403
	ENOTFOUND     = "not_found"              // 404
	ECONFLICT     = "conflict"               // 409
	EGONE         = "gone"                   // 410
	EIDEMPOTENCY  = "idempotency_key_reused" // 422
	ERATELIMITED  = "rate_limited"           // 429
	EINTERNAL     = "internal"               // 500
	EPAUSED       = "onboarding_paused"      // 503
	EREADONLY     = "read_only"              // 503
	EUNAVAILABLE  = "unavailable"            // 503
	EOVERLOADED   = "overloaded"             // 503, with Retry-After: refused by admission control before any work
)

// Error is a domain error with a machine-readable code, a message safe to show
// to the caller, and optionally the offending input field.
type Error struct {
	Code    string
	Message string
	Field   string
	// Err is the cause, for logs only (never shown to the caller).
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Code, e.Message)
	if e.Field != "" {
		s += fmt.Sprintf(" (field %s)", e.Field)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Unavailable is an EUNAVAILABLE error (503 with Retry-After): a dependency
// cannot be reached; the same request may succeed later. cause is logged,
// never shown.
func Unavailable(message string, cause error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: message, Err: cause}
}

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an EINVALID error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of err, EINTERNAL for anything that is not *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the offending field of err, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
