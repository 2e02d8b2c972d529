#!/usr/bin/env bash
# The customer models against an independent implementation in R
# (test/r/models_reference.R): bgnbd_fit and gamma_gamma_fit agree with R's
# optim on the same likelihoods to 1e-3 relative, on customers simulated
# from known parameters and on the CDNOW purchase log (skipped when
# ../shared/data is absent); p_alive, expected purchases, expected spend and
# lifetime value agree with R's formulas at the same parameters; kmeans_fit
# on iris finds R's kmeans() best total within-cluster sum of squares and
# the same partition.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v Rscript >/dev/null; then
	echo "Rscript is not installed (Debian r-base-core): skipped"
	exit 0
fi
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"; dropdb --if-exists segment_models_r 2>/dev/null || true' EXIT
psql=(psql -X -q -v ON_ERROR_STOP=1 -d segment_models_r)
reference=(Rscript --vanilla test/r/models_reference.R)

dropdb --if-exists segment_models_r 2>/dev/null || true
createdb segment_models_r
"${psql[@]}" -c "CREATE EXTENSION segment"
"${reference[@]}" simulate "$work"

# fits and scores of a data set $1, loaded from $work/$1.csv
score() {
	local name=$1
	"${psql[@]}" <<SQL
CREATE TABLE $name (customer_id bigint, frequency float8, recency float8, age float8, mean_value float8);
\copy $name FROM '$work/$name.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE ${name}_models AS
SELECT (b).r, (b).alpha, (b).a, (b).b, (b).log_likelihood AS bgnbd_log_likelihood,
	   (g).p, (g).q, (g).v, (g).log_likelihood AS gamma_gamma_log_likelihood,
	   (b).converged AND (g).converged AS converged, b AS bgnbd, g AS gamma_gamma
FROM (SELECT bgnbd_fit(frequency, recency, age) AS b, gamma_gamma_fit(frequency, mean_value) AS g FROM $name) f;
\copy (SELECT r, alpha, a, b, bgnbd_log_likelihood, p, q, v, gamma_gamma_log_likelihood, converged FROM ${name}_models) TO '$work/${name}_models.csv' WITH (FORMAT csv, HEADER)
\copy (SELECT customer_id, bgnbd_p_alive(bgnbd, frequency, recency, age) AS p_alive, bgnbd_expected_purchases(bgnbd, 13, frequency, recency, age) AS expected_13, bgnbd_expected_purchases(bgnbd, 52, frequency, recency, age) AS expected_52, gamma_gamma_expected_spend(gamma_gamma, frequency, coalesce(mean_value, 0)) AS spend, customer_lifetime_value(bgnbd, gamma_gamma, frequency, recency, age, coalesce(mean_value, 0), 12, 0.01, 4) AS clv FROM $name, ${name}_models) TO '$work/${name}_scores.csv' WITH (FORMAT csv, HEADER)
SQL
	"${reference[@]}" compare "$work" "$name"
}

echo "-- customers simulated from r = 0.25, alpha = 4, a = 0.8, b = 2.5; p = 6, q = 4, v = 15"
score simulated

cdnow=../shared/data/cdnow_orders.csv
if [ -r "$cdnow" ]; then
	echo "-- CDNOW: repeat purchases counted by days, in weeks, observed to 1998-07-01"
	"${psql[@]}" <<SQL
CREATE TABLE cdnow_orders (customer_id bigint, order_date date, quantity int, amount numeric);
\copy cdnow_orders FROM '$cdnow' WITH (FORMAT csv, HEADER)
-- lifetimes' summary: one purchase per day, mean value of the repeat purchases
CREATE TABLE cdnow AS
WITH days AS (SELECT customer_id, order_date, sum(amount) AS amount FROM cdnow_orders GROUP BY 1, 2)
SELECT customer_id, count(*) - 1 AS frequency,
	   (max(order_date) - min(order_date)) / 7.0 AS recency,
	   (date '1998-07-01' - min(order_date)) / 7.0 AS age,
	   CASE WHEN count(*) > 1 THEN (sum(amount) - (array_agg(amount ORDER BY order_date))[1]) / (count(*) - 1) END
		   AS mean_value
FROM days GROUP BY customer_id
-- a repeat buyer whose repeat purchases sum to nothing has no spend to model
HAVING count(*) = 1 OR sum(amount) - (array_agg(amount ORDER BY order_date))[1] > 0;
\copy cdnow TO '$work/cdnow.csv' WITH (FORMAT csv, HEADER)
SQL
	"${psql[@]}" -c "DROP TABLE cdnow"
	score cdnow
else
	echo "-- $cdnow is not beside the checkout: the CDNOW fits are skipped"
fi

echo "-- iris, k = 3"
"${psql[@]}" <<SQL
CREATE TABLE iris (row_number serial, sepal_length float8, sepal_width float8, petal_length float8, petal_width float8);
\copy iris (sepal_length, sepal_width, petal_length, petal_width) FROM '$work/iris.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE iris_model AS
SELECT kmeans_fit(ARRAY[sepal_length, sepal_width, petal_length, petal_width], 3) AS model FROM iris;
\copy (SELECT (model).within_ss, kmeans_nearest(model, ARRAY[sepal_length, sepal_width, petal_length, petal_width]) AS cluster FROM iris, iris_model ORDER BY row_number) TO '$work/iris_ours.csv' WITH (FORMAT csv, HEADER)
SQL
"${reference[@]}" compare "$work" iris
