package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// TestListPage_CursorAndByteCap: following next_cursor visits every item
// exactly once, newest first, through created_at ties; no page holds more
// than Limit items or more than MaxPageBytes + one item of stored data.
func TestListPage_CursorAndByteCap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, p := f.onboard(t, "pages", tenant.TierPro)
	admin := f.admin(t)
	// 25 items of ~60 KB (1.5 MB: two pages by bytes), then 9 small items
	// sharing one created_at (ties broken by id), all inserted directly so
	// the timestamps are ours.
	big := strings.Repeat("x", 60_000)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		if _, err := admin.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.items (name, data, size, created_at)
			VALUES ($1, to_jsonb($2::text), octet_length($1) + octet_length(to_jsonb($2::text)::text), $3)`, c.Schema),
			fmt.Sprintf("big-%02d", i), big, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 9 {
		if _, err := admin.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.items (name, data, size, created_at) VALUES ($1, '1', 9, $2)`, c.Schema),
			fmt.Sprintf("tie-%d", i), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	want := count(t, admin, fmt.Sprintf(`SELECT count(*) FROM %s.items`, c.Schema))
	for _, limit := range []int{1, 4, 50, 200} {
		seen := map[string]bool{}
		var prev *tenant.Item
		q := tenant.PageQuery{Limit: limit}
		pages := 0
		for {
			page, err := f.items.ListPage(ctx, p, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Items) == 0 || len(page.Items) > limit {
				t.Fatalf("limit %d: page of %d items", limit, len(page.Items))
			}
			bytes := 0
			for i := range page.Items {
				it := page.Items[i]
				bytes += len(it.Name) + len(it.Data)
				if seen[it.ID] {
					t.Fatalf("limit %d: %s twice", limit, it.Name)
				}
				seen[it.ID] = true
				if prev != nil && (it.CreatedAt.After(prev.CreatedAt) || (it.CreatedAt.Equal(prev.CreatedAt) && it.ID < prev.ID)) {
					t.Fatalf("limit %d: %s after %s is out of order", limit, it.Name, prev.Name)
				}
				prev = &it
			}
			if bytes > tenant.MaxPageBytes+tenant.MaxItemBytes {
				t.Fatalf("limit %d: a page of %d bytes", limit, bytes)
			}
			if page.NextCursor == "" {
				break
			}
			q, err = tenant.ParsePageQuery(fmt.Sprint(limit), page.NextCursor)
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != want {
			t.Fatalf("limit %d: %d of %d items in %d pages", limit, len(seen), want, pages)
		}
		if limit == 200 && pages != 2 {
			t.Fatalf("1.5 MB of items in %d pages of at most 1 MiB, want 2", pages)
		}
	}
}
