package strategyoperator.neo4jrunner;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Runs Neo4j in this JVM with only Bolt on 127.0.0.1:PORT and authentication on.
 *
 * <p>Usage: {@code Neo4jRunner DATA_DIR PORT}; the password of user {@code neo4j} comes from the
 * environment variable {@code NEO4J_RUNNER_PASSWORD} so it never shows in a process listing. Prints
 * {@code NEO4J_RUNNER_READY} once Bolt accepts the password. Stops when its standard input closes, so it
 * never outlives the process that started it.
 */
public final class Neo4jRunner {
  private Neo4jRunner() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Neo4jRunner DATA_DIR PORT (password in NEO4J_RUNNER_PASSWORD)");
      System.exit(2);
    }
    String password = System.getenv("NEO4J_RUNNER_PASSWORD");
    if (password == null || password.length() < 8) {
      System.err.println("NEO4J_RUNNER_PASSWORD must be set to at least 8 characters");
      System.exit(2);
    }
    Path dataDir = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);

    Neo4j neo4j =
        Neo4jBuilders.newInProcessBuilder(dataDir)
            .withDisabledServer()
            .withConfig(BoltConnector.enabled, true)
            .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
            .withConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
            .withConfig(HttpConnector.enabled, false)
            .withConfig(HttpsConnector.enabled, false)
            .withConfig(GraphDatabaseSettings.auth_enabled, true)
            .build();
    Runtime.getRuntime().addShutdownHook(new Thread(neo4j::close));

    neo4j
        .databaseManagementService()
        .database("system")
        .executeTransactionally(
            "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));

    System.out.println("NEO4J_RUNNER_READY bolt://127.0.0.1:" + port);
    System.out.flush();

    InputStream stdin = System.in;
    while (stdin.read() != -1) {
      // Anything written to stdin is ignored; only its end matters.
    }
    System.exit(0);
  }
}
