%% The Erlang baseline for the remote ask benchmark: a counter gen_server on
%% one node, gen_server:call({counter, Node}, {inc, 1}) from K processes on
%% another node over Erlang distribution (TCP on 127.0.0.1).
%%
%%   server node:  erl_bench:serve()
%%   client node:  erl_bench:main([ServerNode, InFlight, Seconds])
%%
%% main prints one line in bench-remote's format: asks/s, p50/p99 latency,
%% CPU per ask of each node (statistics(runtime): every thread of the VM).
-module(erl_bench).
-behaviour(gen_server).
-export([serve/0, main/1]).
-export([init/1, handle_call/3, handle_cast/2]).

serve() ->
    {ok, _} = gen_server:start({local, counter}, ?MODULE, 0, []),
    ok.

init(N) -> {ok, N}.

handle_call({inc, A}, _From, N) -> {reply, N + A, N + A}.

handle_cast(_Msg, N) -> {noreply, N}.

main([ServerArg, KArg, SecsArg]) ->
    Server = list_to_atom(atom_to_list_any(ServerArg)),
    K = to_int(KArg),
    Secs = to_float(SecsArg),
    true = net_kernel:connect_node(Server),
    %% Warm-up, then the measured window.
    run(Server, K, 500),
    {Cpu0, _} = statistics(runtime),
    {SCpu0, _} = rpc:call(Server, erlang, statistics, [runtime]),
    T0 = erlang:monotonic_time(microsecond),
    Lats = run(Server, K, round(Secs * 1000)),
    T1 = erlang:monotonic_time(microsecond),
    {Cpu1, _} = statistics(runtime),
    {SCpu1, _} = rpc:call(Server, erlang, statistics, [runtime]),
    N = length(Lats),
    Sorted = lists:sort(Lats),
    Elapsed = (T1 - T0) / 1.0e6,
    P50 = lists:nth(max(1, N div 2), Sorted),
    P99 = lists:nth(max(1, (N * 99) div 100), Sorted),
    io:format("inflight=~b asks=~b seconds=~.2f rate=~b p50_us=~b p99_us=~b "
              "cpu_client_us=~.2f cpu_server_us=~.2f errors=0~n",
              [K, N, Elapsed, round(N / Elapsed), P50, P99,
               (Cpu1 - Cpu0) * 1000 / N, (SCpu1 - SCpu0) * 1000 / N]),
    halt(0).

%% K callers for Ms milliseconds; every latency in microseconds.
run(Server, K, Ms) ->
    Parent = self(),
    Deadline = erlang:monotonic_time(millisecond) + Ms,
    Pids = [spawn_link(fun() -> Parent ! {self(), caller(Server, Deadline, [])} end)
            || _ <- lists:seq(1, K)],
    lists:append([receive {P, L} -> L end || P <- Pids]).

caller(Server, Deadline, Acc) ->
    case erlang:monotonic_time(millisecond) < Deadline of
        false ->
            Acc;
        true ->
            T0 = erlang:monotonic_time(microsecond),
            _ = gen_server:call({counter, Server}, {inc, 1}),
            T1 = erlang:monotonic_time(microsecond),
            caller(Server, Deadline, [T1 - T0 | Acc])
    end.

atom_to_list_any(A) when is_atom(A) -> atom_to_list(A);
atom_to_list_any(L) when is_list(L) -> L.

to_int(I) when is_integer(I) -> I;
to_int(A) when is_atom(A) -> list_to_integer(atom_to_list(A));
to_int(L) when is_list(L) -> list_to_integer(L).

to_float(I) when is_integer(I) -> float(I);
to_float(F) when is_float(F) -> F;
to_float(A) when is_atom(A) -> to_float(atom_to_list(A));
to_float(L) when is_list(L) ->
    try list_to_float(L) catch error:badarg -> float(list_to_integer(L)) end.
