package sns

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// awsTestdata is the repository's testdata/aws: recorded AWS messages and
// their sources (testdata/aws/README.md).
func awsTestdata(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "aws", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// published is a message as a publisher hands it to SNS: Subject and Message.
func published(t *testing.T, rel string) (subject, message string) {
	t.Helper()
	var m struct{ Subject, Message string }
	if err := json.Unmarshal(awsTestdata(t, rel), &m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return m.Subject, m.Message
}

func TestParseRecordedBudgetNotifications(t *testing.T) {
	// Verbatim SNS deliveries of real Budgets alerts (sources in
	// testdata/aws/README.md): an ACTUAL alert at 80 % ($0.16 of $0.20) and a
	// FORECASTED one of 2026 with the newer dashboard link.
	for _, c := range []struct {
		file, budget, kind string
		budgeted, thres    float64
		percent            float64
	}{
		{"budgets/recorded/cds-snc-sre-bot-actual.json", "Test Budget", "ACTUAL", 0.20, 0.16, 80},
		{"budgets/recorded/superluminar-budget-alerts-forecasted.json", "test", "FORECASTED", 0.02, 0, 0},
	} {
		var env Message
		if err := json.Unmarshal(awsTestdata(t, c.file), &env); err != nil {
			t.Fatal(err)
		}
		n, err := ParseBudgetNotification(env.Message)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if n.BudgetName != c.budget || n.AlertType != c.kind || n.BudgetedUSD != c.budgeted || n.ThresholdUSD != c.thres || n.Percent != c.percent {
			t.Errorf("%s: %+v", c.file, n)
		}
		if env.Type != "Notification" || env.SignatureVersion != "1" || !strings.HasPrefix(env.SigningCertURL, "https://sns.") {
			t.Errorf("%s: envelope %+v", c.file, env)
		}
	}
}

func TestParseThisStacksNotifications(t *testing.T) {
	for file, want := range map[string]BudgetNotification{
		"budgets/platform-dev-090-actual.json":     {BudgetName: "platform-dev", AlertType: "ACTUAL", BudgetedUSD: 600, ThresholdUSD: 540, Percent: 90},
		"budgets/platform-dev-100-actual.json":     {BudgetName: "platform-dev", AlertType: "ACTUAL", BudgetedUSD: 600, ThresholdUSD: 600, Percent: 100},
		"budgets/platform-dev-100-forecasted.json": {BudgetName: "platform-dev", AlertType: "FORECASTED", BudgetedUSD: 600, ThresholdUSD: 600, Percent: 100},
		"budgets/platform-dev-200-actual.json":     {BudgetName: "platform-dev", AlertType: "ACTUAL", BudgetedUSD: 600, ThresholdUSD: 1200, Percent: 200},
		"other/platform-prod-200-actual.json":      {BudgetName: "platform-prod", AlertType: "ACTUAL", BudgetedUSD: 1500, ThresholdUSD: 3000, Percent: 200},
	} {
		subject, text := published(t, file)
		got, err := ParseBudgetNotification(text)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", file, got, err, want)
		}
		if !strings.HasPrefix(subject, "AWS Budgets: "+want.BudgetName+" has exceeded") {
			t.Errorf("%s: subject %q", file, subject)
		}
	}
}

// Everything else the alerts topic carries is not a budget notification,
// however many percentages it mentions.
func TestParseRefusesEverythingElse(t *testing.T) {
	for _, file := range []string{"other/costreport-emergency.json", "other/cloudwatch-alarm.json",
		"other/rds-storage-event-via-eventbridge.json", "other/rds-auto-start-event-via-eventbridge.json"} {
		_, text := published(t, file)
		if _, err := ParseBudgetNotification(text); !errors.Is(err, ErrNotBudgetNotification) {
			t.Errorf("%s: err = %v", file, err)
		}
	}
	_, real200 := published(t, "budgets/platform-dev-200-actual.json")
	for name, text := range map[string]string{
		"empty":            "",
		"no header":        strings.Replace(real200, "AWS Budget Notification", "Budget Notification", 1),
		"no account":       strings.Replace(real200, "AWS Account 123456789012", "AWS Account", 1),
		"usage budget":     strings.Replace(real200, "Budget Type: Cost", "Budget Type: Usage", 1),
		"other alert type": strings.Replace(real200, "Alert Type: ACTUAL", "Alert Type: SOMETIMES", 1),
		"no threshold":     strings.Replace(real200, "Alert Threshold: > $1,200.00", "", 1),
		"zero budget":      strings.Replace(real200, "Budgeted Amount: $600.00", "Budgeted Amount: $0.00", 1),
		"twice the name":   strings.Replace(real200, "Budget Type: Cost", "Budget Type: Cost\nBudget Name: other", 1),
		"prose threshold":  strings.Replace(real200, "Alert Threshold: > $1,200.00", "Alert Threshold: 215.0% of budget", 1),
		"percent in prose": "Status: EMERGENCY - month-to-date spend is 215.0% of the budget",
	} {
		if n, err := ParseBudgetNotification(text); !errors.Is(err, ErrNotBudgetNotification) {
			t.Errorf("%s: %+v, err = %v", name, n, err)
		}
	}
}

// Forms the recorded examples do not pin down are read the same way: amounts
// with and without thousands separators or cents, the capitalised alert type
// of older messages ("Alert Type: Actual", 2020), CRLF line ends, a
// percentage threshold, and dollar figures rounded to cents.
func TestParseVariants(t *testing.T) {
	_, real200 := published(t, "budgets/platform-dev-200-actual.json")
	for name, c := range map[string]struct {
		text    string
		percent float64
		kind    string
	}{
		"no thousands separator": {strings.ReplaceAll(real200, "$1,200.00", "$1200.00"), 200, "ACTUAL"},
		"whole dollars":          {strings.NewReplacer("$1,200.00", "$1200", "$600.00", "$600").Replace(real200), 200, "ACTUAL"},
		"capitalised type":       {strings.Replace(real200, "Alert Type: ACTUAL", "Alert Type: Actual", 1), 200, "ACTUAL"},
		"CRLF":                   {strings.ReplaceAll(real200, "\n", "\r\n"), 200, "ACTUAL"},
		"percentage threshold":   {strings.Replace(real200, "> $1,200.00", "> 200%", 1), 200, "ACTUAL"},
		"cents rounding":         {strings.NewReplacer("$1,200.00", "$666.66", "$600.00", "$333.33").Replace(real200), 200, "ACTUAL"},
		"just below a level":     {strings.Replace(real200, "> $1,200.00", "> $1,190.00", 1), 198.3, "ACTUAL"},
	} {
		n, err := ParseBudgetNotification(c.text)
		if err != nil || n.Percent != c.percent || n.AlertType != c.kind {
			t.Errorf("%s: %+v %v, want %v %% %s", name, n, err, c.percent, c.kind)
		}
	}
}
