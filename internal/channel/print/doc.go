// Package print lays out personalized postal letters (publipostage) as
// print-ready A4 PDF batches: NF Z10-011 address blocks (package postal)
// placed for window envelopes, letterhead, body, signature, an optional
// reply coupon with a vector QR code, appended inserts, postcode-sorted
// batches with a manifest CSV, and a preflight that refuses a batch a print
// shop would reject.
package print
