# The customer models computed a second way, in R, to check segment's C.
#
#   Rscript test/r/models_reference.R simulate DIR      writes DIR/simulated.csv, DIR/iris.csv
#   Rscript test/r/models_reference.R compare DIR NAME  compares segment's results for the data
#                                                        set NAME (files DIR/NAME*.csv); prints one
#                                                        line per check and exits 1 on a mismatch
#
# Sourced (bench/models.sh does), it only defines the functions.
#
# The likelihoods are written here from the papers (Fader, Hardie and Lee
# 2005: BG/NBD equation 6 in the beta-function form, Gamma-Gamma equation 3)
# and maximized with R's optim (Nelder-Mead, then BFGS with numerical
# gradients), from a start of its own.  The expectations use the series of
# 2F1 as the paper writes it, not the transformed one segment sums.


bgnbd_ll <- function(log_par, x, tx, T) {
	p <- exp(log_par); r <- p[1]; alpha <- p[2]; a <- p[3]; b <- p[4]
	common <- lgamma(r + x) - lgamma(r) + r * log(alpha)
	l1 <- lbeta(a, b + x) - lbeta(a, b) + common - (r + x) * log(alpha + T)
	l2 <- ifelse(x > 0, lbeta(a + 1, pmax(b + x - 1, 1e-300)) - lbeta(a, b) + common - (r + x) * log(alpha + tx), -Inf)
	top <- pmax(l1, l2)
	sum(top + log(exp(l1 - top) + exp(l2 - top)))
}

gamma_gamma_ll <- function(log_par, x, m) {
	p <- exp(log_par); pp <- p[1]; q <- p[2]; v <- p[3]
	# the density of the mean of x Gamma(p, nu) values, nu ~ Gamma(q, v)
	sum(lgamma(pp * x + q) - lgamma(pp * x) - lgamma(q) + q * log(v) +
		(pp * x - 1) * log(m) + (pp * x) * log(x) - (pp * x + q) * log(x * m + v))
}

fit <- function(ll, start, ...) {
	f <- function(lp) -ll(lp, ...)
	o <- optim(start, f, method = "Nelder-Mead", control = list(maxit = 20000, reltol = 1e-14))
	o <- optim(o$par, f, method = "BFGS", control = list(maxit = 10000, reltol = 1e-15))
	if (o$convergence != 0) stop("optim did not converge")
	list(par = exp(o$par), ll = -o$value)
}

hyp2f1 <- function(a, b, c, z) {
	term <- 1; s <- 1; k <- 0
	repeat {
		term <- term * (a + k) * (b + k) / ((c + k) * (k + 1)) * z
		s <- s + term; k <- k + 1
		if (abs(term) <= 1e-17 * abs(s) && abs((a + k) * (b + k) * z) < abs((c + k) * (k + 1))) break
		if (k > 1e6) stop("2F1 series did not converge")
	}
	s
}

p_alive <- function(par, x, tx, T) {
	r <- par[1]; alpha <- par[2]; a <- par[3]; b <- par[4]
	ifelse(x > 0, 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx))^(r + x)), 1)
}

expected <- function(par, t, x, tx, T) {
	r <- par[1]; alpha <- par[2]; a <- par[3]; b <- par[4]
	mapply(function(x, tx, T) {
		if (t == 0) return(0)
		z <- t / (alpha + T + t)
		num <- (a + b + x - 1) / (a - 1) *
			(1 - ((alpha + T) / (alpha + T + t))^(r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
		num / (1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + tx))^(r + x))
	}, x, tx, T)
}

spend <- function(par, x, m) {
	pp <- par[1]; q <- par[2]; v <- par[3]
	pp * (v + x * ifelse(x > 0, m, 0)) / (pp * x + q - 1)
}

# lifetimes' customer_lifetime_value: periods of `period` units, discounted per period
clv <- function(bg, gg, x, tx, T, m, horizon, rate, period) {
	value <- 0; before <- 0
	for (i in seq_len(horizon)) {
		through <- expected(bg, i * period, x, tx, T)
		value <- value + spend(gg, x, m) * (through - before) / (1 + rate)^i
		before <- through
	}
	value
}

failures <- 0
check <- function(what, ours, theirs, tolerance) {
	ours <- as.numeric(ours); theirs <- as.numeric(theirs)
	difference <- max(abs(ours - theirs) / pmax(abs(theirs), 1e-12))
	ok <- length(ours) == length(theirs) && is.finite(difference) && difference <= tolerance
	if (!ok) failures <<- failures + 1
	cat(sprintf("%s %s: largest relative difference %.2e (tolerance %.0e, %d values)\n",
				if (ok) "ok" else "MISMATCH", what, difference, tolerance, length(theirs)))
}

main <- function(args) {
	dir <- args[2]
	if (args[1] == "simulate") {
		# BG/NBD customers with r = 0.25, alpha = 4, a = 0.8, b = 2.5, observed 30 to 80 weeks,
		# and Gamma-Gamma spend with p = 6, q = 4, v = 15
		set.seed(20261207)
		n <- 5000
		lambda <- rgamma(n, shape = 0.25, rate = 4)
		drop <- rbeta(n, 0.8, 2.5)
		age <- runif(n, 30, 80)
		nu <- rgamma(n, shape = 4, rate = 15)
		rows <- lapply(seq_len(n), function(i) {
			t <- 0; x <- 0; last <- 0; total <- 0
			repeat {
				t <- t + rexp(1, lambda[i])
				if (t > age[i]) break
				x <- x + 1; last <- t
				total <- total + rgamma(1, shape = 6, rate = nu[i])
				if (runif(1) < drop[i]) break
			}
			c(i, x, last, age[i], if (x > 0) total / x else NA)
		})
		d <- as.data.frame(do.call(rbind, rows))
		names(d) <- c("customer_id", "frequency", "recency", "age", "mean_value")
		write.csv(d, file.path(dir, "simulated.csv"), row.names = FALSE, na = "")
		write.csv(iris[, 1:4], file.path(dir, "iris.csv"), row.names = FALSE)
		return(0)
	}

	name <- args[3]
	if (name == "iris") {
		ours <- read.csv(file.path(dir, "iris_ours.csv"))	# within_ss, and each row's cluster
		set.seed(1)
		theirs <- kmeans(iris[, 1:4], centers = 3, nstart = 25, iter.max = 100)
		check("k-means total within-cluster sum of squares, k = 3", ours$within_ss[1], theirs$tot.withinss, 1e-9)
		pairs <- unique(data.frame(ours = ours$cluster, theirs = theirs$cluster))
		same <- nrow(pairs) == 3 && length(unique(pairs$ours)) == 3 && length(unique(pairs$theirs)) == 3
		if (!same) failures <<- failures + 1
		cat(sprintf("%s k-means partition of iris: %d pairs of cluster labels (3 when the partitions are the same)\n",
					if (same) "ok" else "MISMATCH", nrow(pairs)))
	} else {
		d <- read.csv(file.path(dir, paste0(name, ".csv")))
		models <- read.csv(file.path(dir, paste0(name, "_models.csv")))	# one row: segment's fits
		scores <- read.csv(file.path(dir, paste0(name, "_scores.csv")))	# per customer, by customer_id
		d <- d[order(d$customer_id), ]
		scores <- scores[order(scores$customer_id), ]
		converged <- models$converged %in% c("t", "true", TRUE)
		if (!converged) failures <<- failures + 1
		cat(sprintf("%s both fits of segment say they converged\n", if (converged) "ok" else "MISMATCH"))
		bg <- fit(bgnbd_ll, log(c(0.5, 2, 0.5, 0.5)), d$frequency, d$recency, d$age)
		check("BG/NBD r, alpha, a, b", c(models$r, models$alpha, models$a, models$b), bg$par, 1e-3)
		check("BG/NBD log-likelihood", models$bgnbd_log_likelihood, bg$ll, 1e-6)
		buyers <- d[d$frequency > 0, ]
		gg <- fit(gamma_gamma_ll, log(c(2, 2, 2)), buyers$frequency, buyers$mean_value)
		check("Gamma-Gamma p, q, v", c(models$p, models$q, models$v), gg$par, 1e-3)
		check("Gamma-Gamma log-likelihood", models$gamma_gamma_log_likelihood, gg$ll, 1e-6)

		# scores at segment's own parameters: the formulas alone are compared
		ours_bg <- c(models$r, models$alpha, models$a, models$b)
		ours_gg <- c(models$p, models$q, models$v)
		check("P(alive)", scores$p_alive, p_alive(ours_bg, d$frequency, d$recency, d$age), 1e-9)
		check("expected purchases in 13 units", scores$expected_13,
			  expected(ours_bg, 13, d$frequency, d$recency, d$age), 1e-7)
		check("expected purchases in 52 units", scores$expected_52,
			  expected(ours_bg, 52, d$frequency, d$recency, d$age), 1e-7)
		m <- ifelse(is.na(d$mean_value), 0, d$mean_value)
		check("expected spend", scores$spend, spend(ours_gg, d$frequency, m), 1e-9)
		few <- seq(1, nrow(d), by = max(1, nrow(d) %/% 300))
		check("lifetime value, 12 periods of 4 units at 1% (a sample)", scores$clv[few],
			  clv(ours_bg, ours_gg, d$frequency[few], d$recency[few], d$age[few], m[few], 12, 0.01, 4), 1e-7)
	}
	if (failures > 0) 1 else 0
}

if (sys.nframe() == 0) quit(status = main(commandArgs(trailingOnly = TRUE)))
