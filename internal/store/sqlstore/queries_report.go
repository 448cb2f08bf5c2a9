package sqlstore

import "github.com/relais-dev/relais/internal/store"

// SQL of the report aggregations (store.ReportStore).

// sentStates are the ledger states of a message the provider took.
var sentStates = store.SQLList(store.Taken)

// responseTypes are the events of store.EventResponse.
const responseTypes = `('replied', 'responded', 'converted')`

var (
	qLedgerGroups = `SELECT run_id, step_id, channel, state,
	CASE WHEN state IN ('refused', 'failed') THEN reason ELSE '' END AS r,
	count(*), sum(CASE WHEN segments > 0 THEN segments ELSE 1 END)
FROM ledger WHERE campaign_id = $1
GROUP BY run_id, step_id, channel, state, r
ORDER BY run_id, step_id, channel, state, r`

	qEventGroups = `SELECT run_id, step_id, channel, type, machine, currency,
	count(*), count(DISTINCT ledger_id), CAST(COALESCE(sum(value), 0) AS DOUBLE PRECISION)
FROM events WHERE campaign_id = $1
GROUP BY run_id, step_id, channel, type, machine, currency
UNION ALL
SELECT run_id, step_id, channel, 'response', FALSE, '', count(*), count(DISTINCT ledger_id), CAST(0 AS DOUBLE PRECISION)
FROM events WHERE campaign_id = $1 AND machine = FALSE AND type IN ` + responseTypes + `
GROUP BY run_id, step_id, channel
UNION ALL
SELECT run_id, step_id, channel, 'converted_message', FALSE, '', count(*), count(DISTINCT ledger_id), CAST(0 AS DOUBLE PRECISION)
FROM events WHERE campaign_id = $1 AND type = 'converted'
GROUP BY run_id, step_id, channel
ORDER BY 1, 2, 3, 4, 5, 6`

	// timelineSQL is completed with the dialect's hour of updated_at
	// and of at, which truncate a timestamp to its UTC hour.
	timelineSQL = `SELECT h, s, CAST(sum(n) AS BIGINT) FROM (
	SELECT %s AS h, 'sent' AS s, count(*) AS n FROM ledger
	WHERE campaign_id = $1 AND state IN ` + sentStates + ` AND updated_at >= $2
	GROUP BY h
	UNION ALL
	SELECT %s AS h, CASE WHEN type IN ` + responseTypes + ` THEN 'response' ELSE type END AS s, count(*) AS n FROM events
	WHERE campaign_id = $1 AND machine = FALSE AND at >= $2
		AND type IN ('opened', 'clicked', 'replied', 'responded', 'converted', 'unsubscribed')
	GROUP BY h, s
) t GROUP BY h, s ORDER BY h, s`
)
