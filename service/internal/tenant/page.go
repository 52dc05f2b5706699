package tenant

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Item lists are paginated, newest first. A page holds at most Limit items
// and at most MaxPageBytes of items as stored (the first item always fits:
// it is at most MaxItemBytes), so a list response is bounded whatever a
// tenant stores: at most MaxPageBytes + MaxItemBytes of item data plus
// ~1.3 KiB of id, name and timestamp per item. Unbounded, one list was
// 157 MB and four in parallel took tenantd to 2.1 GB.
const (
	DefaultPageItems = 50
	MaxPageItems     = 200
	MaxPageBytes     = 1 << 20
)

// Cursor is the position after the last item of a page: items are ordered by
// created_at descending, then id ascending.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes the cursor for the API (opaque to clients).
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

// PageQuery asks for one page of items.
type PageQuery struct {
	Limit int     // 1..MaxPageItems
	After *Cursor // nil: the first page
}

// ItemPage is one page; NextCursor is empty on the last page.
type ItemPage struct {
	Items      []Item `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ParsePageQuery reads the limit and cursor query parameters ("" for
// absent).
func ParsePageQuery(limit, cursor string) (PageQuery, error) {
	q := PageQuery{Limit: DefaultPageItems}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > MaxPageItems {
			return q, FieldError("limit", "limit must be an integer from 1 to %d (default %d)", MaxPageItems, DefaultPageItems)
		}
		q.Limit = n
	}
	if cursor != "" {
		bad := FieldError("cursor", "cursor must be the next_cursor of a previous page, unchanged")
		if len(cursor) > 128 {
			return q, bad
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
		if err != nil {
			return q, bad
		}
		us, id, ok := strings.Cut(string(raw), ".")
		n, err := strconv.ParseInt(us, 10, 64)
		if !ok || err != nil || !ValidID(id) {
			return q, bad
		}
		q.After = &Cursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}
	}
	return q, nil
}
