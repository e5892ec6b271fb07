#!/usr/bin/env bash
# Every calendar (.ics) and contact (.vcf) file of the shared corpus of
# real-world exports and edge cases ($LKS_CORPUS, else ../shared/corpus) is
# POSTed with its type to the real linksyncd. Each must be either accepted
# (201) and served back byte for byte from /raw, or refused with 422 and a
# message; never another status, never a crash. The set of refused files must
# equal the list below, so that a regression either way (a file newly refused,
# or a broken one newly let through) shows. Runs in seconds, also under the
# sanitizer build (LKS_BIN pointing at an ASan+UBSan build directory).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORPUS=${LKS_CORPUS:-$LKS_SRC/../shared/corpus}
W="$TMP/work"
mkdir -p "$W"

# The files linksync refuses, and why (the server's 422 message, which is
# also the verdict of the ical and vcard unit tests' corpus walks: run
# test_ical and test_vcard with LKS_CORPUS set). Paths are relative to the
# corpus; only the paths are compared, the reasons are for the reader.
EXPECTED_REJECTED=$(
	cat <<'EOF'
ical/icaljs/samples_blank_line_end.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/samples_blank_line_mid.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/samples_rdate_exdate.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/samples_recur_instances.ics	line 21: VTIMEZONE has no TZID
ical/icaljs/samples_timezone_from_file.ics	line 12: VEVENT has no UID
ical/icaljs/test_parser_base64.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_boolean.ics	line 4: X: 'MAYBE' is not a valid BOOLEAN value
ical/icaljs/test_parser_component.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_dates.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_float.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_grouped.ics	line 2: 'GROUP1.X-TEST;VALUE=TEXT:test!' is not a content line (NAME:value)
ical/icaljs/test_parser_integer.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_multiple_root_components.ics	line 4: a second VCALENDAR after the END:VCALENDAR on line 3: one calendar per file
ical/icaljs/test_parser_multivalue.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_newline_junk.ics	line 3: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_period.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_property_params.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_quoted_params.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_recur.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_single_empty_vcalendar.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_time.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_tzid_with_gmt.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_unfold_properties.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_utc_offset.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/icaljs/test_parser_values.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/libical/0.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/libical/1-1.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/libical/1.ics	line 13: DAYLIGHT has no DTSTART
ical/libical/2.ics	line 7: DTSTAMP: '19970324T1200Z' is not a valid DATE-TIME value
ical/libical/2445.ics	line 11: content after the END:VCALENDAR on line 9
ical/libical/2446.ics	line 15: a second VCALENDAR after the END:VCALENDAR on line 13: one calendar per file
ical/libical/8.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/calendar.ics	line 24: a second VCALENDAR after the END:VCALENDAR on line 22: one calendar per file
ical/libical/caltime.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/classify.ics	line 23: a second VCALENDAR after the END:VCALENDAR on line 21: one calendar per file
ical/libical/crash.ics	line 4: contains a NUL byte: not a text file
ical/libical/get_char_test.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/incoming.ics	line 25: a second VCALENDAR after the END:VCALENDAR on line 23: one calendar per file
ical/libical/issue250.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/issue251.ics	line 12: carriage return (CR) inside a line: lines end in CRLF or LF
ical/libical/issue252.ics	line 4: carriage return (CR) inside a line: lines end in CRLF or LF
ical/libical/issue253.ics	line 7: contains a NUL byte: not a text file
ical/libical/issue339.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/large.ics	line 11: content after the END:VCALENDAR on line 9
ical/libical/malloc.ics	line 2: contains a NUL byte: not a text file
ical/libical/overlaps.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/process-calendar.ics	line 24: DTEND: '19970701T1300Z' is not a valid DATE-TIME value
ical/libical/process-incoming.ics	line 24: DTEND: '19970701T1300Z' is not a valid DATE-TIME value
ical/libical/recur-errors.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/restriction.ics	line 7: DTSTAMP: '19970901T1300Z' is not a valid DATE-TIME value
ical/libical/smallcluster.ics	line 2: BEGIN:VCALENDAR inside VCALENDAR (line 1)
ical/libical/spanlist.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/libical/stresstest.ics	line 3: ACTION has no value
ical/libical/zday.ics	line 30: contains a NUL byte: not a text file
ical/python-icalendar/calendars_america_new_york.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_america_new_york_forward_reference.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_big_bad_calendar.ics	line 1: BEGIN:VCALENDAR is never closed (no END:VCALENDAR)
ical/python-icalendar/calendars_bom_calendar.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_broken_dtstart.ics	line 6: DTSTART: 'INVALID-DATE' is not a valid DATE-TIME value
ical/python-icalendar/calendars_broken_ical.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_calendar_with_unicode.ics	line 1: the calendar holds no event, to-do or other component
ical/python-icalendar/calendars_created_calendar_with_unicode_fields.ics	line 7: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_empty.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_example.ics	line 19: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_fuzz_testcase_0_char_in_component_name.ics	line 1: contains a NUL byte: not a text file
ical/python-icalendar/calendars_fuzz_testcase_invalid_month.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/calendars_fuzz_testcase_vtimezone_lone_cr.ics	line 2: carriage return (CR) inside a line: lines end in CRLF or LF
ical/python-icalendar/calendars_invalid_duration.ics	line 8: DURATION is too long
ical/python-icalendar/calendars_issue_104_broken_calendar.ics	line 13: 'X' is not a content line (NAME:value)
ical/python-icalendar/calendars_issue_1050_all_components.ics	line 22: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1050_calendar_with_events_and_todos.ics	line 21: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1050_empty_calendar.ics	line 1: the calendar holds no event, to-do or other component
ical/python-icalendar/calendars_issue_1050_forward_timezone_reference.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1050_multiple_calendars.ics	line 9: a second VCALENDAR after the END:VCALENDAR on line 8: one calendar per file
ical/python-icalendar/calendars_issue_1050_simple_calendar.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1050_uid_in_description.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1081_empty_rdate.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1081_event_with_rrule.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1081_invalid_rrule_freq.ics	line 7: RRULE: 'FREQ=INVALID_TYPE_CAUSES_ERROR' is not a valid RECUR value
ical/python-icalendar/calendars_issue_1081_invalid_start_and_end.ics	line 6: DTSTART: 'INVALID-DATE' is not a valid DATE-TIME value
ical/python-icalendar/calendars_issue_1081_invalid_start_valid_end.ics	line 6: DTSTART: 'INVALID-DATE' is not a valid DATE-TIME value
ical/python-icalendar/calendars_issue_1081_list_of_properties.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1081_tzid_param.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1081_with_summary.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1231_recurrence.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1238.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_1426.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1426_value_parameters.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1549_binary_attachment.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_1561_image_value.ics	line 12: Invalid VALUE type for property IMAGE: VALUE=TEXT
ical/python-icalendar/calendars_issue_156_RDATE_with_PERIOD_TZID_khal.ics	line 12: TZID 'Central Standard Time' has no VTIMEZONE in the file and is not a known time zone name
ical/python-icalendar/calendars_issue_1633_freebusy_with_dates.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_1633_rdate_with_dates.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_1633_rdate_with_dates_and_tzid.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_165_missing_event.ics	line 20: VEVENT has no UID
ical/python-icalendar/calendars_issue_168_expected_output.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_168_input.ics	line 6: 'X-APPLE-RADIUS=49.91307046514149' is not a content line (NAME:value)
ical/python-icalendar/calendars_issue_178_component_with_invalid_name_represented.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/calendars_issue_178_custom_component_contains_other.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/calendars_issue_178_custom_component_inside_other.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_313_globally_unique_tzid.ics	line 4: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_issue_322_expected_calendar.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_348_exception_parsing_value.ics	line 8: 'ORGANIZER;CN=Sixt SE' is not a content line (NAME:value)
ical/python-icalendar/calendars_issue_350.ics	line 36: content after the END:VCALENDAR on line 35
ical/python-icalendar/calendars_issue_351_whitespace_in_property_and_params.ics	line 4: 'REFRESH - INTERVAL; VALUE = DURATION:PT48H' is not a content line (NAME:value)
ical/python-icalendar/calendars_issue_466_convert_tzid_with_slash.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_466_respect_unique_timezone.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_526_calendar_with_different_events.ics	line 7: TZID 'Western/Central Europe' has no VTIMEZONE in the file and is not a known time zone name
ical/python-icalendar/calendars_issue_526_calendar_with_event_subset.ics	line 7: TZID 'Western/Central Europe' has no VTIMEZONE in the file and is not a known time zone name
ical/python-icalendar/calendars_issue_526_calendar_with_events.ics	line 7: TZID 'Western/Central Europe' has no VTIMEZONE in the file and is not a known time zone name
ical/python-icalendar/calendars_issue_526_calendar_with_shuffeled_events.ics	line 7: TZID 'Western/Central Europe' has no VTIMEZONE in the file and is not a known time zone name
ical/python-icalendar/calendars_issue_722_missing_VTIMEZONE_custom.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_722_missing_timezones.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_722_timezone_transition_ambiguity.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_798_freebusy.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_798_related_to.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_issue_82_expected_output.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/calendars_multiple_calendar_components.ics	line 4: a folded continuation line (starting with a space) follows no line
ical/python-icalendar/calendars_multiple_timezones.ics	line 1: VCALENDAR has no PRODID
ical/python-icalendar/calendars_pacific_fiji.ics	line 46: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_parsing_error.ics	line 6: VEVENT has no UID
ical/python-icalendar/calendars_parsing_error_in_UTC_offset.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_period_with_timezone.ics	line 1: VCALENDAR has no PRODID
ical/python-icalendar/calendars_pr_480_summary_with_colon.ics	line 1: BEGIN:VCALENDAR is never closed (no END:VCALENDAR)
ical/python-icalendar/calendars_rfc_5545_RDATE_example.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_6868.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7256_multi_value_parameters.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7265_example_1.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7529.ics	line 5: VEVENT has no DTSTAMP
ical/python-icalendar/calendars_rfc_7953_3.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7986_conferences.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7986_image.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_7986_properties.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_rfc_9253_gap.ics	line 4: VEVENT has no DTSTART
ical/python-icalendar/calendars_rfc_9253_related_to.ics	line 4: VEVENT has no DTSTART
ical/python-icalendar/calendars_small_bad_calendar.ics	line 1: BEGIN:VCALENDAR is never closed (no END:VCALENDAR)
ical/python-icalendar/calendars_time.ics	line 1: VCALENDAR has no VERSION (VERSION:2.0)
ical/python-icalendar/calendars_timezone_rdate.ics	line 53: 'SUMMARY=testevent' is not a content line (NAME:value)
ical/python-icalendar/calendars_timezone_same_start_and_offset.ics	line 23: END:VCALENDARD does not close the BEGIN:VCALENDAR of line 1
ical/python-icalendar/events_event_with_escaped_character1.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_escaped_character2.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_escaped_character3.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_escaped_character4.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_escaped_characters.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_recurrence.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_recurrence_exdates_on_different_lines.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_rsvp.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_unicode_fields.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_event_with_unicode_organizer.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_100_transformed_doctests_into_unittests.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_101_icalendar_chokes_on_umlauts_in_organizer.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_104_mark_events_broken.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_112_missing_tzinfo_on_exdate.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_156_RDATE_with_PERIOD.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_156_RDATE_with_PERIOD_list.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_157_removes_trailing_semicolon.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_184_broken_representation_of_period.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_355_url_escaping.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_355_url_escaping_2.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_355_url_escaping_empty_param.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_464_invalid_rdate.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_53_description_parsed_properly.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_64_event_with_ascii_summary.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_64_event_with_non_ascii_summary.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_70_rrule_causes_attribute_error.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_issue_82_expected_output.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_7265_example_4.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_7265_request_status.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_9074_example_1.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_9074_example_2.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_9074_example_3.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_9074_example_4.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
ical/python-icalendar/events_rfc_9074_example_proximity.ics	line 1: not an iCalendar file: it must start with BEGIN:VCALENDAR
vcard/icaljs/test_parser_vcard_grouped.vcf	line 1: the vCard 4.0 that begins here has no FN (required)
vcard/libical/test.vcf	line 26: the vCard that begins here has no VERSION
vcard/libical/user-cal.vcf	line 1: not a vCard: expected BEGIN:VCARD, found 'BEGIN:VCALENDAR'
EOF
)

if [ ! -d "$CORPUS/ical" ] || [ ! -d "$CORPUS/vcard" ]; then
	fail "no corpus at $CORPUS (set LKS_CORPUS)"
	finish
fi

start_server

: >"$W/rejected"
: >"$W/problems"
total=0
accepted=0
while IFS= read -r -d '' path; do
	rel=${path#"$CORPUS"/}
	case $rel in
	*.ics) type=text/calendar ;;
	*) type=text/vcard ;;
	esac
	total=$((total + 1))
	code=$(curl -sS -o "$W/resp" -w '%{http_code}' -H "Content-Type: $type" \
		-H 'Accept: text/plain' --data-binary @- "$BASE/api/v1/items" <"$path")
	case $code in
	201)
		url=$(tr -d '\r\n' <"$W/resp")
		id=${url##*/}
		if ! curl -sS -f -o "$W/back" "$BASE/$id/raw"; then
			echo "$rel: accepted but /raw failed" >>"$W/problems"
		elif ! cmp -s "$path" "$W/back"; then
			echo "$rel: /raw is not byte-identical" >>"$W/problems"
		else
			accepted=$((accepted + 1))
		fi
		;;
	422)
		msg=$(sed -n 's/.*"message":"\(.*\)"}.*/\1/p' "$W/resp")
		if [ -z "$msg" ]; then
			echo "$rel: 422 without a message: $(cat "$W/resp")" >>"$W/problems"
		fi
		printf '%s\t%s\n' "$rel" "$msg" >>"$W/rejected"
		;;
	*)
		echo "$rel: status $code: $(head -c 300 "$W/resp")" >>"$W/problems"
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "the server died on $rel" >>"$W/problems"
			break
		fi
		;;
	esac
done < <(find "$CORPUS/ical" "$CORPUS/vcard" -type f \( -name '*.ics' -o -name '*.vcf' \) -print0 | LC_ALL=C sort -z)

echo "# corpus: $total files, $accepted accepted, $(grep -c . "$W/rejected") refused"
check "corpus: files found" test "$total" -gt 200
check "corpus: every answer is 201 (and byte-identical) or 422 with a message" test ! -s "$W/problems"
sed 's/^/#   /' "$W/problems"

cut -f1 <<<"$EXPECTED_REJECTED" | LC_ALL=C sort >"$W/expected"
cut -f1 "$W/rejected" | LC_ALL=C sort >"$W/actual"
if cmp -s "$W/expected" "$W/actual"; then
	ok "corpus: the refused files are exactly the expected ones"
else
	fail "corpus: the refused files differ from the expected list"
	echo "# newly refused (with the server's message):"
	LC_ALL=C comm -13 "$W/expected" "$W/actual" | while IFS= read -r f; do
		grep -F "$f	" "$W/rejected" | sed 's/^/#   /'
	done
	echo "# no longer refused (expected reason):"
	LC_ALL=C comm -23 "$W/expected" "$W/actual" | while IFS= read -r f; do
		grep -F "$f	" <<<"$EXPECTED_REJECTED" | sed 's/^/#   /'
	done
fi

check "server still running" kill -0 "$SERVER_PID"
check_eq "server still answers" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/healthz")"
if [ "$FAILED" -ne 0 ]; then
	echo "--- server log"
	cat "$SERVER_LOG"
fi
finish
