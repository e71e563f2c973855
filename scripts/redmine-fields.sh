#!/usr/bin/env bash
# redmine-fields.sh — create, idempotently, the custom fields devpulse's
# Redmine integration tests need and Redmine's REST API cannot create:
# an issue field "Story Points" (float, all trackers, all projects).
# Prints REDMINE_STORY_POINTS_FIELD=<id>. Needs root, like redmine-up.sh.
set -euo pipefail
RM_ROOT=/usr/share/redmine
[ "$(id -u)" = 0 ] || { echo "[redmine-fields] must run as root" >&2; exit 1; }
script=$(mktemp /tmp/redmine-fields.XXXXXX.rb)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'RUBY'
cf = IssueCustomField.find_by_name('Story Points') ||
     IssueCustomField.create!(name: 'Story Points', field_format: 'float', is_for_all: true, visible: true, editable: true)
cf.tracker_ids = Tracker.pluck(:id)
cf.is_for_all = true
cf.save!
puts "REDMINE_STORY_POINTS_FIELD=#{cf.id}"
RUBY
chmod 0644 "$script"
cd "$RM_ROOT" && runuser -u www-data -- env RAILS_ENV=production REDMINE_LANG=en HOME=/tmp bin/rails runner "$script" | grep '^REDMINE_'
