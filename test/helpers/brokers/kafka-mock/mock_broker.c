/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (rdkafka_mock.h) in a process of
 * its own, so any Kafka client can use it over loopback. test/helpers/brokers/kafka.ts compiles
 * and drives it.
 *
 *   mock_broker [-b BROKERS] [TOPIC[:PARTITIONS] ...]
 *
 * Prints "bootstrap <host:port,...>" once the cluster listens, then reads one command per line on
 * stdin and answers each with one line on stdout, "ok ..." or "error ...":
 *
 *   create TOPIC PARTITIONS   create a topic (the mock would also auto-create on request)
 *   down BROKER_ID            the broker drops its connections and refuses new ones (same port)
 *   up BROKER_ID              the broker accepts connections again; its data is kept
 *   quit                      exit
 *
 * It exits on "quit", when stdin closes (its parent died) and on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int create_topic(rd_kafka_mock_cluster_t *mcluster, const char *name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, name, partitions, 1);
  if (err) {
    printf("error create %s: %s\n", name, rd_kafka_err2str(err));
    return -1;
  }
  printf("ok create %s %d\n", name, partitions);
  return 0;
}

static void report(const char *what, int broker, rd_kafka_resp_err_t err) {
  if (err)
    printf("error %s %d: %s\n", what, broker, rd_kafka_err2str(err));
  else
    printf("ok %s %d\n", what, broker);
}

static void command(rd_kafka_mock_cluster_t *mcluster, char *line) {
  char name[512];
  int n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  if (sscanf(line, "create %511s %d", name, &n) == 2 && n > 0) {
    create_topic(mcluster, name, n);
  } else if (sscanf(line, "down %d", &n) == 1) {
    report("down", n, rd_kafka_mock_broker_set_down(mcluster, n));
  } else if (sscanf(line, "up %d", &n) == 1) {
    report("up", n, rd_kafka_mock_broker_set_up(mcluster, n));
  } else if (strcmp(line, "quit") == 0) {
    stop_requested = 1;
    printf("ok quit\n");
  } else if (line[0] != '\0') {
    printf("error unknown command: %s\n", line);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = 1;
  int first_topic = 1;
  if (argc > 2 && strcmp(argv[1], "-b") == 0) {
    brokers = atoi(argv[2]);
    first_topic = 3;
  }
  if (brokers < 1) {
    fprintf(stderr, "usage: %s [-b BROKERS] [TOPIC[:PARTITIONS] ...]\n", argv[0]);
    return 2;
  }

  /* No SA_RESTART: a signal interrupts the blocking read of stdin, so the loop sees it. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The mock cluster's own log: errors only, on stderr. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mcluster) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  int status = 0;
  for (int i = first_topic; i < argc; i++) {
    char name[512];
    int partitions = 1;
    snprintf(name, sizeof(name), "%s", argv[i]);
    char *colon = strrchr(name, ':');
    if (colon) {
      *colon = '\0';
      partitions = atoi(colon + 1);
    }
    if (partitions < 1 || create_topic(mcluster, name, partitions) != 0) status = 1;
  }

  printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  fflush(stdout);

  char line[1024];
  while (!stop_requested && status == 0) {
    if (!fgets(line, sizeof(line), stdin)) {
      if (ferror(stdin) && errno == EINTR && !stop_requested) {
        clearerr(stdin);
        continue;
      }
      break; /* EOF: whoever started us is gone */
    }
    command(mcluster, line);
  }

  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return status;
}
