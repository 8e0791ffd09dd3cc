import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { capacityOfNodes, neverFitsNodes, nodeRooms, onlyWaitingForRoom, tighter } from './capacity.js';

const node = (name: string, cpu: string, memory: string, extra: Partial<V1Node> = {}): V1Node => ({
  metadata: { name, labels: { pool: name === 'big' ? 'batch' : 'web' } },
  status: { allocatable: { cpu, memory, pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  ...extra,
});
const none = { nodeSelector: {}, tolerations: [] };

describe('node capacity', () => {
  it('counts Ready nodes the pods may use, summed for admission', () => {
    const rooms = nodeRooms([node('a', '2', '4Gi'), node('b', '1500m', '2Gi'), node('down', '8', '8Gi', { spec: { unschedulable: true } })], none);
    expect(rooms.map((r) => r.name)).toEqual(['a', 'b']);
    expect(capacityOfNodes(rooms)).toMatchObject({ cpuMilli: 3500, memMiB: 6144, pods: 220 });
  });

  it('leaves out nodes the nodeSelector does not match or whose taints are not tolerated', () => {
    const tainted = node('big', '64', '256Gi', { spec: { taints: [{ key: 'gpu', effect: 'NoSchedule' }] } });
    expect(nodeRooms([tainted, node('a', '2', '4Gi')], { nodeSelector: { pool: 'batch' }, tolerations: [] })).toEqual([]);
    expect(nodeRooms([tainted], { nodeSelector: { pool: 'batch' }, tolerations: [{ key: 'gpu', operator: 'Exists' }] }).map((r) => r.name)).toEqual(['big']);
  });

  it('tells "could fit once others finish" from "no node could ever hold it"', () => {
    const rooms = nodeRooms([node('rig', '2', '3900Mi')], none);
    expect(neverFitsNodes({ cpuMilli: 2000, memMiB: 1024 }, rooms)).toBeUndefined();
    expect(neverFitsNodes({ cpuMilli: 64000, memMiB: 256 }, rooms)).toBe(
      'no node could ever hold it: it requests 64 CPU and 256Mi memory; the largest node (rig) has 2 CPU and 3.8Gi allocatable',
    );
    expect(onlyWaitingForRoom('0/1 nodes are available: 1 Insufficient cpu.')).toBe(true);
    expect(onlyWaitingForRoom('0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.')).toBe(true);
    expect(onlyWaitingForRoom("0/1 nodes are available: 1 node(s) didn't match node selector.")).toBe(false);
  });

  it('takes the tighter of quota and nodes', () => {
    expect(tighter({ pods: 2, source: 'ResourceQuota q' }, { cpuMilli: 2000, pods: 110, source: 'nodes' })).toEqual({ pods: 2, cpuMilli: 2000, source: 'ResourceQuota q and nodes' });
  });
});
