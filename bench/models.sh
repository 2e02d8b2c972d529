#!/usr/bin/env bash
# The customer models at scale, against R: bash bench/models.sh [customers]
#
# The generated data (default 1,000,000 customers, bench/generate_orders.sql)
# summarized once per customer with purchase_summary(rfm_stats(...)), in
# days, into a table model_summary.  Then, each BENCH_RUNS times (default
# 3; the median is reported), side by side:
#   bgnbd   segment: bgnbd_fit, then every customer's P(alive) and expected
#           purchases over 90 days, written to a table
#           R: COPY of the summary to CSV, read.csv, optim (L-BFGS-B, log
#           parameters bounded to 10 either side of the start) of the same
#           likelihood from the same start, P(alive) and the expected
#           purchases (the 2F1 series summed for all customers at once),
#           written to CSV (loading them back into PostgreSQL is not timed)
#   kmeans  k = 8 over frequency, recency, age and mean value:
#           segment: kmeans_fit with 1 and with 10 restarts (its default)
#           R: COPY to CSV, read.csv, kmeans() with nstart 1 (its default)
#           and 10
# Each result's quality is printed with it: the log-likelihood of the fits,
# the total within-cluster sum of squares of the clusterings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/models.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
RUNS=${BENCH_RUNS:-3}
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"
command -v Rscript >/dev/null || { echo "Rscript is not installed (Debian r-base-core)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
sql "CREATE EXTENSION IF NOT EXISTS segment" >/dev/null
echo "== summarizing $CUSTOMERS customers"
sql "DROP TABLE IF EXISTS model_summary, model_scores;
	CREATE TABLE model_summary AS
	SELECT customer_id, (s).frequency, (s).recency, (s).age, (s).mean_value
	FROM (SELECT customer_id, purchase_summary(rfm_stats(order_time, amount), '$as_of', '1 day') AS s
		  FROM orders GROUP BY customer_id) q" >/dev/null
sql "VACUUM ANALYZE model_summary" >/dev/null

seconds() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

segment_bgnbd() {
	sql "DROP TABLE IF EXISTS model_fit, model_scores;
		CREATE TABLE model_fit AS SELECT bgnbd_fit(frequency, recency, age) AS m FROM model_summary;
		CREATE TABLE model_scores AS
		SELECT s.customer_id, bgnbd_p_alive(f.m, s.frequency, s.recency, s.age) AS p_alive,
			   bgnbd_expected_purchases(f.m, 90, s.frequency, s.recency, s.age) AS expected_90
		FROM model_summary s, model_fit f;
		SELECT 'log-likelihood ' || round((m).log_likelihood::numeric, 1) FROM model_fit" | tail -n 1
}

r_bgnbd() {
	"${psql[@]}" -d "$DB" -c "\\copy (SELECT customer_id, frequency, recency, age FROM model_summary) TO '$work/summary.csv' WITH (FORMAT csv, HEADER)"
	Rscript --vanilla - "$work" <<'R'
source("test/r/models_reference.R")
dir <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(dir, "summary.csv"))
f <- function(lp) -bgnbd_ll(lp, d$frequency, d$recency, d$age)
# bounded: unbounded BFGS runs a and b off to 1e51 and 1e96 on these data,
# where lbeta loses every digit and reports a spurious higher likelihood
start <- log(c(1, mean(d$age), 1, 1))
o <- optim(start, f, method = "L-BFGS-B", lower = start - 10, upper = start + 10,
		   control = list(maxit = 1000, factr = 10))
par <- exp(o$par)
# the series of 2F1(r + x, b + x; a + b + x - 1; z) for every customer at once
r <- par[1]; alpha <- par[2]; a <- par[3]; b <- par[4]; t <- 90
x <- d$frequency; T <- d$age
z <- t / (alpha + T + t)
A <- r + x; B <- b + x; C <- a + b + x - 1
term <- rep(1, length(x)); s <- term; k <- 0
repeat {
	term <- term * (A + k) * (B + k) / ((C + k) * (k + 1)) * z
	s <- s + term; k <- k + 1
	if (all(abs(term) <= 1e-15 * abs(s))) break
}
expected <- (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t))^(r + x) * s) /
	(1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + d$recency))^(r + x))
write.csv(data.frame(customer_id = d$customer_id, p_alive = p_alive(par, x, d$recency, T), expected_90 = expected),
		  file.path(dir, "scores.csv"), row.names = FALSE)
cat(sprintf("log-likelihood %.1f\n", -o$value))
R
}

segment_kmeans() {
	sql "SELECT 'within ' || round((kmeans_fit(ARRAY[frequency, recency, age, mean_value], 8, 0, false, $1)).within_ss::numeric)
		FROM model_summary"
}

r_kmeans() {
	"${psql[@]}" -d "$DB" -c "\\copy (SELECT frequency, recency, age, mean_value FROM model_summary) TO '$work/features.csv' WITH (FORMAT csv, HEADER)"
	Rscript --vanilla - "$work" "$1" <<'R'
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(file.path(args[1], "features.csv"))
set.seed(1)
k <- suppressWarnings(kmeans(d, centers = 8, nstart = as.integer(args[2]), iter.max = 100))
cat(sprintf("within %.0f\n", k$tot.withinss))
R
}

declare -A times quality
variants=("segment bgnbd" "R bgnbd" "segment kmeans 1" "R kmeans 1" "segment kmeans 10" "R kmeans 10")
run() {
	case "$1" in
		"segment bgnbd") segment_bgnbd ;;
		"R bgnbd") r_bgnbd ;;
		"segment kmeans "*) segment_kmeans "${1##* }" ;;
		"R kmeans "*) r_kmeans "${1##* }" ;;
	esac
}
for variant in "${variants[@]}"; do
	echo "== $variant"
	for ((i = 1; i <= RUNS; i++)); do
		t0=$(date +%s.%N)
		quality[$variant]=$(run "$variant" | tail -n 1)
		t=$(seconds "$t0")
		echo "   run $i: $t s, ${quality[$variant]}"
		times[$variant]="${times[$variant]:-} $t"
	done
done

echo
echo "| variant | median s | result | R / segment |"
echo "|---|---|---|---|"
for variant in "${variants[@]}"; do
	m=$(tr ' ' '\n' <<<"${times[$variant]}" | grep . | median)
	case "$variant" in
		segment*) ours=$m ratio="" ;;
		R*) ratio=$(awk -v r="$m" -v s="$ours" 'BEGIN { printf "%.1f", r / s }') ;;
	esac
	echo "| $variant | $m | ${quality[$variant]} | $ratio |"
done
echo
bench_describe
