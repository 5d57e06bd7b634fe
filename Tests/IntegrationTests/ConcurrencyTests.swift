// Concurrent commands on one container id are serialised (flock on <root>/<id>): of eight simultaneous `create`s
// exactly one wins and the others say "already exists" and leave nothing; simultaneous `start`, `kill` and
// `delete --force` on one container never break its state, and it ends up gone.
import XCTest
import Glibc
import CorralSpec

final class ConcurrencyTests: RuntimeTestCase {
    /// Runs `n` copies of the runtime with `args` at the same time (a shell starts them in the background) and
    /// returns each one's exit status and combined output.
    private func parallel(_ argv: [[String]]) -> [(status: Int32, output: String)] {
        let dir = integrationTmpBase + "/par-" + rt.id("p")
        mkdir(dir, 0o700)
        defer { _ = runCommand(["rm", "-rf", dir]) }
        var script = ""
        for (i, a) in argv.enumerated() {
            let quoted = ([RuntimeUnderTest.path, "--root", rt.root] + a).map { "'\($0)'" }.joined(separator: " ")
            script += "( \(quoted) > \(dir)/\(i).out 2>&1; echo $? > \(dir)/\(i).rc ) &\n"
        }
        script += "wait\n"
        let r = runCommand(["sh", "-c", script], timeout: 60)
        XCTAssertEqual(r.status, 0, "\(r)")
        return argv.indices.map { i in
            let rc = Int32((readFile("\(dir)/\(i).rc") ?? "").trimmed) ?? -1
            return (rc, readFile("\(dir)/\(i).out") ?? "")
        }
    }

    func testConcurrentCreatesOfOneIdYieldOneContainer() throws {
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let id = rt.id("race")
        let results = parallel(Array(repeating: ["create", "--bundle", bundle.dir, id], count: 8))
        let winners = results.filter { $0.status == 0 }
        XCTAssertEqual(winners.count, 1, "exactly one create wins: \(results)")
        for loser in results where loser.status != 0 {
            XCTAssertTrue(loser.output.contains("already exists"), "a loser says why: \(loser.output)")
        }
        XCTAssertEqual(rt.status(id), "created", "the winner's container is intact")
        let pids = processesMentioning([bundle.dir])
        XCTAssertEqual(pids.count, 1, "one parked init, not eight: \(pids)")

        let ends = parallel([["start", id], ["kill", id, "KILL"], ["delete", "--force", id], ["delete", "--force", id],
                             ["kill", id, "KILL"]])
        for e in ends {
            // Each sees a consistent container: it acted, or the container was already gone or stopped.
            let ok = e.status == 0 || e.output.contains("does not exist") || e.output.contains("not running")
                || e.output.contains("has stopped")
            XCTAssertTrue(ok, "an orderly answer: \(e)")
        }
        _ = rt("delete", "--force", id)
        let s = rt("state", id)
        XCTAssertNotEqual(s.status, 0)
        XCTAssertTrue(s.stderr.contains("container does not exist"), s.stderr)
        XCTAssertTrue(waitUntil(timeout: 5) { processesMentioning([self.bundle.dir]).isEmpty }, "nothing runs afterwards")
    }
}
