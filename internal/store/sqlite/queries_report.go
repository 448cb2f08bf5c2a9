package sqlite

// SQL of the report aggregations (store.ReportStore).

// sentStates are the ledger states of a message the provider took.
const sentStates = `('accepted', 'delivered', 'bounced')`

// responseTypes are the events of store.EventResponse.
const responseTypes = `('replied', 'responded', 'converted')`

const (
	qLedgerGroups = `SELECT run_id, step_id, channel, state,
	CASE WHEN state IN ('refused', 'failed') THEN reason ELSE '' END AS r,
	count(*), sum(CASE WHEN segments > 0 THEN segments ELSE 1 END)
FROM ledger WHERE campaign_id = ?
GROUP BY run_id, step_id, channel, state, r
ORDER BY run_id, step_id, channel, state, r`

	qEventGroups = `SELECT run_id, step_id, channel, type, machine, currency,
	count(*), count(DISTINCT ledger_id), COALESCE(sum(value), 0)
FROM events WHERE campaign_id = ?1
GROUP BY run_id, step_id, channel, type, machine, currency
UNION ALL
SELECT run_id, step_id, channel, 'response', 0, '', count(*), count(DISTINCT ledger_id), 0.0
FROM events WHERE campaign_id = ?1 AND machine = 0 AND type IN ` + responseTypes + `
GROUP BY run_id, step_id, channel
UNION ALL
SELECT run_id, step_id, channel, 'converted_message', 0, '', count(*), count(DISTINCT ledger_id), 0.0
FROM events WHERE campaign_id = ?1 AND type = 'converted'
GROUP BY run_id, step_id, channel
ORDER BY 1, 2, 3, 4, 5, 6`

	// qTimeline buckets by the first 13 characters of the fixed-width
	// timestamps ("2027-03-20T09").
	qTimeline = `SELECT h, s, sum(n) FROM (
	SELECT substr(updated_at, 1, 13) AS h, 'sent' AS s, count(*) AS n FROM ledger
	WHERE campaign_id = ?1 AND state IN ` + sentStates + ` AND updated_at >= ?2
	GROUP BY h
	UNION ALL
	SELECT substr(at, 1, 13) AS h, CASE WHEN type IN ` + responseTypes + ` THEN 'response' ELSE type END AS s, count(*) AS n FROM events
	WHERE campaign_id = ?1 AND machine = 0 AND at >= ?2
		AND type IN ('opened', 'clicked', 'replied', 'responded', 'converted', 'unsubscribed')
	GROUP BY h, s
) GROUP BY h, s ORDER BY h, s`
)
