package ingest

import (
	"encoding/json"
	"strings"
	"time"
)

// Built-in adapters for incident tools whose webhooks cannot be given
// devpulse's schema: the tool posts its own documented payload to
// /api/v1/incidents/<tool>?project=<path>, and the adapter maps it to an
// Incident. Events that do not open, resolve or reopen an incident are
// acknowledged and ignored, so a note or an acknowledgement arriving after
// the resolution never reopens it.

// PagerDuty maps a V3 webhook (developer.pagerduty.com, "Webhook Payload":
// {"event": {"event_type": "incident.triggered", "occurred_at", "data":
// {"id", "type": "incident", "created_at", "status", "urgency", "priority":
// {"summary"}}}}). ok is false for an event that changes no incident's
// start or end.
func PagerDuty(body []byte, project string) (inc *Incident, ok bool, err error) {
	var p struct {
		Event struct {
			EventType  string    `json:"event_type"`
			OccurredAt time.Time `json:"occurred_at"`
			Data       struct {
				ID        string     `json:"id"`
				Type      string     `json:"type"`
				CreatedAt *time.Time `json:"created_at"`
				Status    string     `json:"status"`
				Urgency   string     `json:"urgency"`
				Priority  *struct {
					Summary string `json:"summary"`
				} `json:"priority"`
			} `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, false, bad("(body)", "not a PagerDuty V3 webhook: %v", err)
	}
	e := p.Event
	switch e.EventType {
	case "incident.triggered", "incident.resolved", "incident.reopened":
	default:
		return nil, false, nil
	}
	if e.Data.Type != "incident" || e.Data.ID == "" || e.Data.CreatedAt == nil {
		return nil, false, bad("event.data", "a PagerDuty incident event without the incident's id and created_at")
	}
	inc = &Incident{IdempotencyKey: "pagerduty:" + e.Data.ID, Project: project, StartedAt: e.Data.CreatedAt,
		Severity: e.Data.Urgency, Labels: []string{"pagerduty"}, Tool: "pagerduty"}
	if e.Data.Priority != nil && e.Data.Priority.Summary != "" {
		inc.Labels = append(inc.Labels, "priority::"+e.Data.Priority.Summary)
	}
	if e.EventType == "incident.resolved" || e.Data.Status == "resolved" {
		at := e.OccurredAt
		inc.ResolvedAt = &at
	}
	return inc, true, nil
}

// Opsgenie maps an outgoing-webhook alert action (docs.opsgenie.com, "Alert
// action data": {"action": "Create" | "Close" | ..., "alert": {"alertId",
// "createdAt" (epoch milliseconds), "updatedAt" (epoch nanoseconds, as
// documented), "tags"}}). Only Create and Close change an incident.
func Opsgenie(body []byte, project string) (inc *Incident, ok bool, err error) {
	var p struct {
		Action string `json:"action"`
		Alert  struct {
			AlertID   string   `json:"alertId"`
			CreatedAt int64    `json:"createdAt"`
			UpdatedAt int64    `json:"updatedAt"`
			Tags      []string `json:"tags"`
			Priority  string   `json:"priority"`
		} `json:"alert"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, false, bad("(body)", "not an Opsgenie webhook: %v", err)
	}
	if p.Action != "Create" && p.Action != "Close" {
		return nil, false, nil
	}
	if p.Alert.AlertID == "" || p.Alert.CreatedAt <= 0 {
		return nil, false, bad("alert", "an Opsgenie alert action without alertId and createdAt")
	}
	started := epoch(p.Alert.CreatedAt)
	inc = &Incident{IdempotencyKey: "opsgenie:" + p.Alert.AlertID, Project: project, StartedAt: &started,
		Labels: append([]string{"opsgenie"}, p.Alert.Tags...), Severity: strings.ToLower(p.Alert.Priority), Tool: "opsgenie"}
	if p.Action == "Close" {
		at := epoch(p.Alert.UpdatedAt)
		if p.Alert.UpdatedAt <= 0 || at.Before(started) {
			at = started
		}
		inc.ResolvedAt = &at
	}
	return inc, true, nil
}

// epoch reads seconds, milliseconds or nanoseconds since 1970 by magnitude
// (Opsgenie sends createdAt in ms and updatedAt in ns).
func epoch(v int64) time.Time {
	switch {
	case v > 1e17:
		return time.Unix(0, v).UTC()
	case v > 1e14:
		return time.UnixMicro(v).UTC()
	case v > 1e11:
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}
