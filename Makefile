# segment: customer segmentation inside PostgreSQL (PGXS build).
#
# src/     the C code, one file per concern, a header per module
# sql/     the install script of the current version, in pieces named after
#          the concern they hold (the Makefile joins them, in the order of
#          SQL_PARTS, into segment--$(EXTVERSION).sql); the base script of
#          the first release, segment--0.1.0.sql, and the chain of update
#          scripts from it to the current version
# test/    pg_regress tests (test/sql, test/expected), isolation specs
#          (test/specs, expected output also in test/expected) and shell
#          tests (test/t)
#
# The version lives in segment.control.

EXTENSION = segment
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" segment.control)

MODULE_big = segment
OBJS = src/segment.o src/exact_sum.o src/rfm_stats.o src/rfm_stats_agg.o \
	src/rfm.o src/rfm_thresholds.o src/rfm_thresholds_agg.o src/threshold_selection.o src/rfm_score.o \
	src/segment_map.o src/lifecycle.o src/segment_rule.o \
	src/segment_set.o src/segment_set_agg.o src/segment_set_gin.o src/analysis_time.o \
	src/prepared.o src/state_trigger.o src/state_pending.o src/state_fold.o src/state_row.o src/state_validity.o src/state_legacy.o \
	src/tags_trigger.o src/history.o \
	src/point_set.o src/minimize.o src/special_functions.o src/model_tuple.o src/purchase_summary.o \
	src/bgnbd.o src/gamma_gamma.o src/kmeans.o src/customer_prediction.o

SQL_PARTS = sql/rfm_stats.sql sql/rfm.sql sql/rfm_thresholds.sql sql/rfm_score.sql \
	sql/segment_map.sql sql/lifecycle.sql sql/segment_set.sql sql/models.sql sql/kmeans.sql sql/attach.sql sql/views.sql sql/state.sql sql/citus.sql \
	sql/tags.sql sql/security.sql sql/history.sql sql/campaigns.sql sql/alerts.sql sql/predictions.sql sql/erasure.sql sql/privacy.sql

DATA_built = segment--$(EXTVERSION).sql
DATA = $(wildcard sql/segment--*.sql)
EXTRA_CLEAN = segment--$(EXTVERSION).sql

REGRESS = rfm_stats rfm_type rfm_thresholds rfm_score rfm_oracle rfm_parallel threshold_selection bad_input edges cdnow \
	segment_map lifecycle segment_set attach views state state_production tags history alerts models erasure privacy catalog security
REGRESS_OPTS = --inputdir=test --outputdir=test/results

# concurrency: isolation specs in test/specs
ISOLATION = state_concurrency tags_concurrency history_concurrency alerts_notify
ISOLATION_OPTS = --inputdir=test --outputdir=test/results/isolation

PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Isrc

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

segment--$(EXTVERSION).sql: sql/header.sql $(SQL_PARTS)
	cat $^ > $@

# a changed header rebuilds every object (PGXS tracks no header)
$(OBJS): $(wildcard src/*.h)
