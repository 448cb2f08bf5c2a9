package postgres

// SQL of the report aggregations (store.ReportStore).

// sentStates are the ledger states of a message the provider took.
const sentStates = `('accepted', 'delivered', 'bounced')`

// responseTypes are the events of store.EventResponse.
const responseTypes = `('replied', 'responded', 'converted')`

const (
	qLedgerGroups = `SELECT run_id, step_id, channel, state,
	CASE WHEN state IN ('refused', 'failed') THEN reason ELSE '' END AS r,
	count(*), sum(CASE WHEN segments > 0 THEN segments ELSE 1 END)
FROM ledger WHERE campaign_id = $1
GROUP BY run_id, step_id, channel, state, r
ORDER BY run_id, step_id, channel, state, r`

	qEventGroups = `SELECT run_id, step_id, channel, type, machine, currency,
	count(*), count(DISTINCT ledger_id), COALESCE(sum(value), 0)::float8
FROM events WHERE campaign_id = $1
GROUP BY run_id, step_id, channel, type, machine, currency
UNION ALL
SELECT run_id, step_id, channel, 'response', false, '', count(*), count(DISTINCT ledger_id), 0::float8
FROM events WHERE campaign_id = $1 AND NOT machine AND type IN ` + responseTypes + `
GROUP BY run_id, step_id, channel
UNION ALL
SELECT run_id, step_id, channel, 'converted_message', false, '', count(*), count(DISTINCT ledger_id), 0::float8
FROM events WHERE campaign_id = $1 AND type = 'converted'
GROUP BY run_id, step_id, channel
ORDER BY 1, 2, 3, 4, 5, 6`

	// qTimeline truncates in UTC whatever the session's time zone.
	qTimeline = `SELECT h, s, sum(n)::bigint FROM (
	SELECT date_trunc('hour', updated_at AT TIME ZONE 'UTC') AS h, 'sent' AS s, count(*) AS n FROM ledger
	WHERE campaign_id = $1 AND state IN ` + sentStates + ` AND updated_at >= $2
	GROUP BY h
	UNION ALL
	SELECT date_trunc('hour', at AT TIME ZONE 'UTC') AS h, CASE WHEN type IN ` + responseTypes + ` THEN 'response' ELSE type END AS s, count(*) AS n FROM events
	WHERE campaign_id = $1 AND NOT machine AND at >= $2
		AND type IN ('opened', 'clicked', 'replied', 'responded', 'converted', 'unsubscribed')
	GROUP BY h, s
) t GROUP BY h, s ORDER BY h, s`
)
