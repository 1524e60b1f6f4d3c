// Package replay judges an archive of CloudTrail log files where it lies: it
// lists only the date partitions asked for in the documented key layout of a
// trail bucket, downloads, inflates and decodes the log files on a bounded
// pool of workers, and applies their records to one pipeline in listing
// order, so a parallel replay gives exactly the findings of a sequential
// `atrest evaluate` of the same files. It can also hand the objects to the
// deployed trail-archive function instead, one S3 event notification per
// object on its queue.
package replay

import (
	"fmt"
	"strings"
	"time"
)

// The key layout of a trail bucket, from "Finding your CloudTrail log files"
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html):
//
//	[prefix/]AWSLogs/[O-ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE
//
// and the file name, from "CloudTrail log file name format"
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html):
//
//	ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//
// Digest files live beside them under CloudTrail-Digest/ and are never
// listed.
const (
	logsFolder  = "AWSLogs/"
	trailFolder = "CloudTrail"
	fileSuffix  = ".json.gz"
	dayLayout   = "2006/01/02"
	nameTime    = "20060102T1504Z"
)

// Object is one CloudTrail log file of the archive.
type Object struct {
	Key       string
	Size      int64
	Account   string
	Region    string
	Delivered time.Time // the delivery time in the file name (minute precision)
}

// ParseKey checks key against the documented layout below prefix ("" or a
// folder ending in "/") and returns the log file it names. ok is false for
// anything else: digest files, other folders, names whose account, region
// or date disagree with their folders.
func ParseKey(prefix, key string) (Object, bool) {
	rest, found := strings.CutPrefix(key, prefix)
	if !found {
		return Object{}, false
	}
	rest, found = strings.CutPrefix(rest, logsFolder)
	if !found {
		return Object{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 8 && IsOrgID(parts[0]) {
		parts = parts[1:]
	}
	if len(parts) != 7 || parts[1] != trailFolder {
		return Object{}, false
	}
	account, region, file := parts[0], parts[2], parts[6]
	if !IsAccount(account) || !isRegion(region) {
		return Object{}, false
	}
	day, err := time.Parse(dayLayout, strings.Join(parts[3:6], "/"))
	if err != nil || day.Format(dayLayout) != strings.Join(parts[3:6], "/") {
		return Object{}, false
	}
	name, found := strings.CutSuffix(file, fileSuffix)
	if !found {
		return Object{}, false
	}
	fields := strings.Split(name, "_")
	if len(fields) != 5 || fields[0] != account || fields[1] != trailFolder || fields[2] != region || !isUnique(fields[4]) {
		return Object{}, false
	}
	at, err := time.Parse(nameTime, fields[3])
	if err != nil || !sameDay(at, day) {
		return Object{}, false
	}
	return Object{Key: key, Account: account, Region: region, Delivered: at}, true
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// IsAccount reports whether s is a 12-digit AWS account id.
func IsAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsOrgID reports whether s is an AWS Organizations id: "o-" and 10 to 32
// lower-case letters or digits.
// https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html
func IsOrgID(s string) bool {
	id, found := strings.CutPrefix(s, "o-")
	if !found || len(id) < 10 || len(id) > 32 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isRegion accepts a region name's characters (us-east-1, cn-north-1,
// us-gov-west-1) without fixing the list of regions.
func isRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 || !strings.Contains(s, "-") {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isUnique accepts the disambiguating string of a file name: letters and
// digits (16 of them in every file CloudTrail writes; any length is read).
func isUnique(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// DayPrefix is the folder of one account's log files of one region and day.
func DayPrefix(accountRoot, region string, day time.Time) string {
	return accountRoot + trailFolder + "/" + region + "/" + day.UTC().Format(dayLayout) + "/"
}

// ObjectName is the documented file name of a log file: what tests and
// generators write.
func ObjectName(account, region string, delivered time.Time, unique string) string {
	return fmt.Sprintf("%s_%s_%s_%s_%s%s", account, trailFolder, region, delivered.UTC().Format(nameTime), unique, fileSuffix)
}
