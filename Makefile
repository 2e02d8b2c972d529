# segment: customer segmentation inside PostgreSQL (PGXS build).
#
# The version lives in segment.control.  The install script of the current
# version, segment--$(EXTVERSION).sql, is assembled from the SQL pieces in
# src/, one per concern beside its C file, in the order of SQL_PARTS.
# src/updates holds the install scripts of released versions, frozen, and the
# update scripts from each of them to the next.

EXTENSION = segment
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" segment.control)

MODULE_big = segment
OBJS = src/segment.o src/exact_sum.o src/rfm_stats.o src/rfm_stats_agg.o \
	src/rfm.o src/rfm_thresholds.o src/rfm_thresholds_agg.o src/rfm_score.o \
	src/segment_map.o src/lifecycle.o src/segment_rule.o \
	src/segment_set.o src/segment_set_gin.o src/analysis_time.o \
	src/prepared.o src/state_trigger.o src/state_fold.o src/state_row.o src/state_validity.o src/state_legacy.o \
	src/tags_trigger.o

SQL_PARTS = src/rfm_stats.sql src/rfm.sql src/rfm_thresholds.sql src/rfm_score.sql \
	src/segment_map.sql src/lifecycle.sql src/segment_set.sql src/attach.sql src/state.sql \
	src/tags.sql src/security.sql

DATA_built = segment--$(EXTVERSION).sql
DATA = $(wildcard src/updates/segment--*.sql)
EXTRA_CLEAN = segment--$(EXTVERSION).sql

REGRESS = rfm_stats rfm_type rfm_thresholds rfm_score rfm_oracle rfm_parallel bad_input edges cdnow \
	segment_map lifecycle segment_set attach state state_production tags catalog security
REGRESS_OPTS = --outputdir=test/results

# concurrency: isolation specs in test/specs, their expected output in test/expected
ISOLATION = state_concurrency tags_concurrency
ISOLATION_OPTS = --inputdir=test --outputdir=test/results/isolation

PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Isrc

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

segment--$(EXTVERSION).sql: src/header.sql $(SQL_PARTS)
	cat $^ > $@
